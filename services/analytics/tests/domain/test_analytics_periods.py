from datetime import date, datetime, UTC
from zoneinfo import ZoneInfo

import pytest

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.periods import (
    Period,
    PeriodKind,
    month_of,
    parse_period,
    parse_span,
    period_range,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-Q3", PeriodKind.QUARTER, date(2026, 7, 1), date(2026, 10, 1)),
        ("2026-q4", PeriodKind.QUARTER, date(2026, 10, 1), date(2027, 1, 1)),
        ("2026-07", PeriodKind.MONTH, date(2026, 7, 1), date(2026, 8, 1)),
        ("2026-12", PeriodKind.MONTH, date(2026, 12, 1), date(2027, 1, 1)),
    ],
)
def test_parse_period(text, kind, start, end):
    period = parse_period(text)
    assert (period.kind, period.start, period.end) == (kind, start, end)


@pytest.mark.parametrize("text", ["2026", "2026-Q1", "2026-02"])
def test_label_round_trips(text):
    assert parse_period(text).label == text


@pytest.mark.parametrize("text", ["", "26", "2026-Q5", "2026-Q0", "2026-13", "2026-00", "2026/07", "July", "2026-7"])
def test_bad_period_names_the_field(text):
    with pytest.raises(ValidationFailed) as info:
        parse_period(text, field="target.period")
    assert info.value.field == "target.period"


def test_non_string_period_rejected():
    with pytest.raises(ValidationFailed) as info:
        parse_period(2026)  # type: ignore[arg-type]
    assert info.value.field == "period"


def test_misaligned_period_rejected():
    with pytest.raises(ValidationFailed):
        Period(PeriodKind.MONTH, date(2026, 7, 2), date(2026, 8, 2))
    with pytest.raises(ValidationFailed):
        Period(PeriodKind.QUARTER, date(2026, 2, 1), date(2026, 5, 1))


def test_children_of_year_are_quarters_and_of_quarter_months():
    assert [p.label for p in parse_period("2026").children()] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [p.label for p in parse_period("2026-Q4").children()] == ["2026-10", "2026-11", "2026-12"]
    assert parse_period("2026-05").children() == ()
    assert len(parse_period("2026").months()) == 12


def test_containment_uses_local_date():
    july = parse_period("2026-07")
    # 16:30 UTC on 31 July is 00:30 on 1 August in Shanghai.
    late_utc = datetime(2026, 7, 31, 16, 30, tzinfo=UTC)
    assert not july.contains(late_utc, SHANGHAI)
    assert july.contains(late_utc, ZoneInfo("UTC"))
    assert month_of(late_utc, SHANGHAI).label == "2026-08"


def test_naive_instant_rejected():
    with pytest.raises(ValidationFailed) as info:
        parse_period("2026").contains(datetime(2026, 1, 1), SHANGHAI)
    assert info.value.field == "occurred_at"


def test_period_range_inclusive():
    assert [p.label for p in period_range("2026-11", "2027-02")] == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert [p.label for p in period_range("2026-Q4", "2026-Q4")] == ["2026-Q4"]


def test_range_ending_before_start_rejected():
    with pytest.raises(ValidationFailed) as info:
        period_range("2026-07", "2026-06")
    assert info.value.field == "to"


def test_range_of_mixed_kinds_rejected():
    with pytest.raises(ValidationFailed) as info:
        period_range("2026", "2026-07", end_field="until")
    assert info.value.field == "until"


def test_range_start_errors_name_start_field():
    with pytest.raises(ValidationFailed) as info:
        period_range("bad", "2026-07")
    assert info.value.field == "from"


def test_next_and_within():
    assert parse_period("2026-12").next().label == "2027-01"
    assert parse_period("2026-Q4").next().label == "2027-Q1"
    assert parse_period("2026-08").is_within(parse_period("2026-Q3"))
    assert not parse_period("2026-10").is_within(parse_period("2026-Q3"))


@pytest.mark.parametrize(
    ("start", "end", "label", "months"),
    [
        ("2026-04", "2026-Q3", "2026-04..2026-09", 6),
        ("2026", "2026-03", "2026-01..2026-12", 12),
        ("2025-Q4", "2026", "2025-10..2026-12", 15),
        ("2026-05", "2026-05", "2026-05..2026-05", 1),
    ],
)
def test_span_covers_whole_periods_both_included(start, end, label, months):
    span = parse_span(start, end)
    assert (span.kind, span.label, len(span.months())) == (PeriodKind.SPAN, label, months)
    assert span.contains(datetime(2026, 5, 31, 17, tzinfo=UTC), SHANGHAI) is (span.end > date(2026, 6, 1))


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("2026-05", "2026-04", "to"),
        ("2026-Q2", "2026-03", "to"),
        ("2027", "2026-Q4", "to"),
        ("2026-00", "2026-04", "from"),
        ("2026-04", "soon", "to"),
    ],
)
def test_span_bad_ends_name_the_field(start, end, field):
    with pytest.raises(ValidationFailed) as error:
        parse_span(start, end)
    assert error.value.field == field


def test_span_that_ends_before_it_starts_says_so():
    with pytest.raises(ValidationFailed, match="ends before it starts"):
        parse_span("2026-06", "2026-05")
