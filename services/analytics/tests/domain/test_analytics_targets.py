from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.metrics import Metric
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.targets import (
    Holder,
    Target,
    attainment,
    check_decomposition,
    decompose_over_holders,
    decompose_over_periods,
    split_evenly,
)

COMPANY = Holder("/acme")
EAST = Holder("/acme/east")
WEST = Holder("/acme/west")


def revenue(period: str, amount: str, holder: Holder = COMPANY, currency: str = "CNY") -> Target:
    return Target(Metric.COLLECTED_REVENUE, parse_period(period), holder, Decimal(amount), currency)


def visits(period: str, amount: int, holder: Holder = COMPANY) -> Target:
    return Target(Metric.VISITS, parse_period(period), holder, Decimal(amount))


# --- split_evenly -----------------------------------------------------------------------------


def test_split_distributes_remainder_to_first_parts():
    assert split_evenly(Decimal("100.00"), 3) == (Decimal("33.34"), Decimal("33.33"), Decimal("33.33"))
    assert split_evenly(Decimal("0.02"), 3) == (Decimal("0.01"), Decimal("0.01"), Decimal("0.00"))
    assert split_evenly(10, 4, Decimal(1)) == (3, 3, 2, 2)


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    parts=st.integers(min_value=1, max_value=400),
)
def test_split_sums_exactly_and_shares_differ_by_at_most_a_cent(cents, parts):
    amount = Decimal(cents).scaleb(-2)
    shares = split_evenly(amount, parts)
    assert len(shares) == parts
    assert sum(shares) == amount
    assert max(shares) - min(shares) <= Decimal("0.01")


@pytest.mark.parametrize(
    ("amount", "parts", "field"),
    [
        (Decimal("10"), 0, "parts"),
        (Decimal("10"), -2, "parts"),
        (Decimal("10"), True, "parts"),
        (Decimal("-1"), 2, "amount"),
        (Decimal("1.005"), 2, "amount"),
        (1.5, 2, "amount"),
    ],
)
def test_split_rejects_bad_input(amount, parts, field):
    with pytest.raises(ValidationFailed) as info:
        split_evenly(amount, parts)
    assert info.value.field == field


# --- targets ----------------------------------------------------------------------------------


def test_negative_target_rejected():
    with pytest.raises(ValidationFailed) as info:
        revenue("2026", "-1")
    assert info.value.field == "amount"


def test_count_target_must_be_whole():
    with pytest.raises(ValidationFailed) as info:
        Target(Metric.VISITS, parse_period("2026"), COMPANY, Decimal("2.5"))
    assert info.value.field == "amount"


def test_holder_path_validated():
    with pytest.raises(ValidationFailed) as info:
        Holder("acme")
    assert info.value.field == "holder.org_path"


# --- check_decomposition ----------------------------------------------------------------------


def test_quarters_adding_up_pass_in_reject_mode():
    year = revenue("2026", "1000.00")
    quarters = [revenue(f"2026-Q{q}", "250.00") for q in range(1, 5)]
    assert check_decomposition(year, quarters, "reject") == 0


def test_quarters_short_are_rejected_naming_the_difference():
    year = revenue("2026", "1000.00")
    quarters = [revenue(f"2026-Q{q}", a) for q, a in zip(range(1, 5), ["250", "250", "250", "240"])]
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(year, quarters, "reject")
    assert info.value.field == "children"
    assert "10.00" in info.value.message
    assert info.value.reason == "TARGET_SPLIT_MISMATCH"
    assert info.value.info == {"total": "990.00", "target": "1000.00", "difference": "10.00"}


def test_report_mode_returns_signed_difference():
    year = revenue("2026", "1000.00")
    over = [revenue(f"2026-Q{q}", "260.00") for q in range(1, 5)]
    assert check_decomposition(year, over, "report") == Decimal("-40.00")
    assert check_decomposition(year, over[:3], "report") == Decimal("220.00")


def test_months_of_a_quarter():
    quarter = visits("2026-Q3", 30)
    months = [visits("2026-07", 10), visits("2026-08", 10), visits("2026-09", 9)]
    assert check_decomposition(quarter, months, "report") == 1
    with pytest.raises(ValidationFailed):
        check_decomposition(quarter, months, "reject")


def test_child_units_and_reps_of_a_unit():
    team = Holder("/acme/east/sh/t1")
    parent = revenue("2026-Q1", "300.00", team)
    children = [
        revenue("2026-Q1", "100.00", Holder("/acme/east/sh/t1", "rep-a")),
        revenue("2026-Q1", "150.00", Holder("/acme/east/sh/t1", "rep-b")),
        revenue("2026-Q1", "50.00", Holder("/acme/east/sh/t1/sub")),
    ]
    assert check_decomposition(parent, children, "reject") == 0


def test_org_children_must_be_direct_children_for_the_same_period():
    parent = revenue("2026", "100.00")
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, [revenue("2026", "100.00", Holder("/acme/east/sh"))], "report")
    assert info.value.field == "children[0]"
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, [revenue("2027", "100.00", EAST)], "report")
    assert info.value.field == "children[0]"
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, [revenue("2026-Q1", "100.00", EAST)], "report")
    assert info.value.field == "children[0]"


def test_children_of_another_year_rejected():
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(revenue("2026", "100.00"), [revenue("2027-Q1", "100.00")], "report")
    assert info.value.field == "children[0]"


def test_mixed_metric_currency_and_duplicates_reported_per_child():
    parent = revenue("2026", "100.00")
    children = [
        revenue("2026", "50.00", EAST),
        revenue("2026", "50.00", EAST),
        revenue("2026", "10.00", WEST, currency="USD"),
        Target(Metric.CONTRACT_AMOUNT, parse_period("2026"), WEST, Decimal("1"), "CNY"),
    ]
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, children, "report")
    fields = [f for f, _ in info.value.violations]
    assert "children[1]" in fields
    assert "children[2].currency" in fields
    assert "children[3].metric" in fields


def test_mixing_time_and_org_children_rejected():
    parent = revenue("2026", "100.00")
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, [revenue("2026-Q1", "50.00"), revenue("2026", "50.00", EAST)], "report")
    assert info.value.field == "children[1]"


def test_mixing_quarters_and_months_rejected():
    parent = revenue("2026", "100.00")
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(parent, [revenue("2026-Q1", "50.00"), revenue("2026-05", "50.00")], "report")
    assert info.value.field == "children[1]"


def test_rep_target_has_no_children():
    rep = Holder("/acme/east", "rep-a")
    with pytest.raises(ValidationFailed):
        check_decomposition(
            revenue("2026", "1.00", rep), [revenue("2026", "1.00", Holder("/acme/east", "rep-b"))], "report"
        )


def test_unknown_mode_rejected():
    with pytest.raises(ValidationFailed) as info:
        check_decomposition(revenue("2026", "1.00"), [], "warn")
    assert info.value.field == "mode"


# --- decomposition helpers --------------------------------------------------------------------


def test_decompose_year_into_quarters_adds_up():
    year = revenue("2026", "1000.01")
    quarters = decompose_over_periods(year)
    assert [q.period.label for q in quarters] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert [q.amount for q in quarters] == [Decimal("250.01"), Decimal("250.00"), Decimal("250.00"), Decimal("250.00")]
    assert check_decomposition(year, quarters, "reject") == 0
    months = decompose_over_periods(visits("2026-Q2", 10))
    assert [m.amount for m in months] == [4, 3, 3]


def test_month_cannot_be_split():
    with pytest.raises(ValidationFailed) as info:
        decompose_over_periods(revenue("2026-03", "1.00"))
    assert info.value.field == "period"


def test_decompose_over_holders():
    parent = revenue("2026", "100.00")
    children = decompose_over_holders(parent, [EAST, WEST])
    assert [c.amount for c in children] == [Decimal("50.00"), Decimal("50.00")]
    assert check_decomposition(parent, children, "reject") == 0
    with pytest.raises(ValidationFailed) as info:
        decompose_over_holders(parent, [EAST, Holder("/other")])
    assert info.value.field == "holders[1]"
    with pytest.raises(ValidationFailed) as info:
        decompose_over_holders(parent, [])
    assert info.value.field == "holders"


# --- attainment -------------------------------------------------------------------------------


def test_attainment_is_actual_over_target():
    assert attainment(Decimal("1025.00"), Decimal("1000.00")) == Decimal("1.0250")
    assert attainment(1, 3) == Decimal("0.3333")
    assert attainment(Decimal("0"), Decimal("10")) == 0


def test_attainment_none_for_zero_target():
    assert attainment(Decimal("5"), Decimal("0")) is None


def test_attainment_negative_target_rejected():
    with pytest.raises(ValidationFailed) as info:
        attainment(1, -1)
    assert info.value.field == "target"
