from datetime import date, datetime, time, timedelta, UTC
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_activities.domain.daily_reports import (
    DailyReport,
    ReportPolicy,
    ReportStatus,
    classify_submission,
    day_bounds_utc,
    dates_to_mark_missing,
    deadline_utc,
    local_report_date,
    mark_falsified,
    missing_report,
    reps_missing_report,
    submit_report,
    validate_report_content,
)
from salesgrid_activities.domain.errors import Conflict, FailedPrecondition, PermissionDenied, ValidationFailed

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = UTC
DAY = date(2026, 5, 12)
SPRING = date(2026, 3, 29)  # Berlin: 02:00 CET -> 03:00 CEST, a 23-hour day
AUTUMN = date(2026, 10, 25)  # Berlin: 03:00 CEST -> 02:00 CET, a 25-hour day
LATER = datetime(2026, 5, 13, 2, 0, tzinfo=UTC)


def local(d: date, hh: int, mm: int, ss: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(hh, mm, ss), tzinfo=tz)


# --- local dates, day bounds, deadlines --------------------------------------------------------


def test_local_report_date_depends_on_the_branch_zone() -> None:
    instant = datetime(2026, 5, 12, 16, 30, tzinfo=UTC)
    assert local_report_date(instant, SHANGHAI) == date(2026, 5, 13)
    assert local_report_date(instant, BERLIN) == date(2026, 5, 12)


def test_local_report_date_needs_an_aware_instant() -> None:
    with pytest.raises(ValidationFailed) as info:
        local_report_date(datetime(2026, 5, 12, 16, 30), SHANGHAI)
    assert info.value.field == "now"


def test_deadline_in_utc_for_each_branch() -> None:
    assert deadline_utc(DAY, SHANGHAI) == datetime(2026, 5, 12, 10, 0, tzinfo=UTC)
    assert deadline_utc(DAY, BERLIN) == datetime(2026, 5, 12, 16, 0, tzinfo=UTC)
    assert deadline_utc(DAY, SHANGHAI, time(17, 30)) == datetime(2026, 5, 12, 9, 30, tzinfo=UTC)


def test_deadline_follows_berlin_dst_changes() -> None:
    assert deadline_utc(date(2026, 3, 28), BERLIN) == datetime(2026, 3, 28, 17, 0, tzinfo=UTC)
    assert deadline_utc(SPRING, BERLIN) == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    assert deadline_utc(date(2026, 10, 24), BERLIN) == datetime(2026, 10, 24, 16, 0, tzinfo=UTC)
    assert deadline_utc(AUTUMN, BERLIN) == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)


def test_deadline_inside_the_dst_gap_lands_after_the_gap() -> None:
    # 02:30 does not exist on 2026-03-29 in Berlin; it is read with the old offset (03:30 CEST).
    assert deadline_utc(SPRING, BERLIN, time(2, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_deadline_on_repeated_hour_is_the_first_occurrence() -> None:
    assert deadline_utc(AUTUMN, BERLIN, time(2, 30)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_day_bounds_on_dst_days_are_23_and_25_hours() -> None:
    start, end = day_bounds_utc(SPRING, BERLIN)
    assert (start, end) == (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=23)
    start, end = day_bounds_utc(AUTUMN, BERLIN)
    assert (start, end) == (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), datetime(2026, 10, 25, 23, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=25)
    start, end = day_bounds_utc(DAY, SHANGHAI)
    assert end - start == timedelta(hours=24) and start == datetime(2026, 5, 11, 16, 0, tzinfo=UTC)


def test_report_date_must_be_a_date_not_a_datetime() -> None:
    with pytest.raises(ValidationFailed) as info:
        deadline_utc(datetime(2026, 5, 12, tzinfo=UTC), SHANGHAI)  # type: ignore[arg-type]
    assert info.value.field == "report_date"


# --- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [SHANGHAI, BERLIN], ids=["shanghai", "berlin"])
@pytest.mark.parametrize("day", [DAY, SPRING, AUTUMN], ids=["ordinary", "spring-dst", "autumn-dst"])
def test_one_second_either_side_of_18_local(tz: ZoneInfo, day: date) -> None:
    assert classify_submission(local(day, 17, 59, 59, tz), day, tz) is ReportStatus.ON_TIME
    assert classify_submission(local(day, 18, 0, 1, tz), day, tz) is ReportStatus.LATE


def test_the_deadline_instant_itself_is_on_time() -> None:
    assert classify_submission(local(DAY, 18, 0, 0, SHANGHAI), DAY, SHANGHAI) is ReportStatus.ON_TIME


def test_same_instant_is_late_in_shanghai_but_on_time_in_berlin() -> None:
    instant = datetime(2026, 5, 12, 10, 30, tzinfo=UTC)  # 18:30 Shanghai, 12:30 Berlin
    assert classify_submission(instant, DAY, SHANGHAI) is ReportStatus.LATE
    assert classify_submission(instant, DAY, BERLIN) is ReportStatus.ON_TIME


def test_dst_days_use_the_offset_in_force_that_evening() -> None:
    # A fixed winter offset would call 16:30Z on 29 March 17:30 (on time); it is 18:30 CEST.
    assert classify_submission(datetime(2026, 3, 29, 16, 30, tzinfo=UTC), SPRING, BERLIN) is ReportStatus.LATE
    # A fixed summer offset would call 16:30Z on 25 October 18:30 (late); it is 17:30 CET.
    assert classify_submission(datetime(2026, 10, 25, 16, 30, tzinfo=UTC), AUTUMN, BERLIN) is ReportStatus.ON_TIME


def test_deadline_is_configurable() -> None:
    policy = ReportPolicy(deadline=time(17, 0))
    assert classify_submission(local(DAY, 17, 30, 0, SHANGHAI), DAY, SHANGHAI, policy) is ReportStatus.LATE
    assert classify_submission(local(DAY, 17, 30, 0, SHANGHAI), DAY, SHANGHAI) is ReportStatus.ON_TIME


def test_late_until_local_midnight_then_closed() -> None:
    assert classify_submission(local(DAY, 23, 59, 59, BERLIN), DAY, BERLIN) is ReportStatus.LATE
    with pytest.raises(FailedPrecondition) as info:
        classify_submission(local(DAY + timedelta(days=1), 0, 0, 0, BERLIN), DAY, BERLIN)
    assert info.value.field == "report_date"


def test_report_before_its_day_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as info:
        classify_submission(local(DAY, 0, 0, 0, SHANGHAI) - timedelta(seconds=1), DAY, SHANGHAI)
    assert info.value.field == "report_date"
    assert classify_submission(local(DAY, 0, 0, 0, SHANGHAI), DAY, SHANGHAI) is ReportStatus.ON_TIME


@given(
    st.sampled_from([SHANGHAI, BERLIN]),
    st.sampled_from([DAY, SPRING, AUTUMN, date(2026, 1, 1)]),
    st.data(),
)
def test_on_time_exactly_when_local_wall_clock_is_not_past_deadline(
    tz: ZoneInfo, day: date, data: st.DataObject
) -> None:
    start, end = day_bounds_utc(day, tz)
    seconds = data.draw(st.integers(0, int((end - start).total_seconds()) - 1))
    instant = start + timedelta(seconds=seconds, microseconds=data.draw(st.integers(0, 999_999)))
    wall = instant.astimezone(tz)
    expected = ReportStatus.ON_TIME if wall.time() <= time(18, 0) else ReportStatus.LATE
    assert classify_submission(instant, day, tz) is expected


# --- closing days -------------------------------------------------------------------------------


def test_shanghai_closes_at_its_own_midnight_berlin_later() -> None:
    shanghai_midnight = datetime(2026, 5, 12, 16, 0, tzinfo=UTC)
    last_closed = date(2026, 5, 11)
    assert dates_to_mark_missing(shanghai_midnight - timedelta(seconds=1), SHANGHAI, last_closed) == []
    assert dates_to_mark_missing(shanghai_midnight, SHANGHAI, last_closed) == [DAY]
    assert dates_to_mark_missing(shanghai_midnight, BERLIN, last_closed) == []
    berlin_midnight = datetime(2026, 5, 12, 22, 0, tzinfo=UTC)
    assert dates_to_mark_missing(berlin_midnight - timedelta(seconds=1), BERLIN, last_closed) == []
    assert dates_to_mark_missing(berlin_midnight, BERLIN, last_closed) == [DAY]


def test_catch_up_after_scheduler_downtime_and_idempotence() -> None:
    now = datetime(2026, 5, 12, 3, 0, tzinfo=UTC)  # 11:00 on the 12th in Shanghai
    assert dates_to_mark_missing(now, SHANGHAI, date(2026, 5, 8)) == [
        date(2026, 5, 9),
        date(2026, 5, 10),
        date(2026, 5, 11),
    ]
    assert dates_to_mark_missing(now, SHANGHAI, date(2026, 5, 11)) == []
    assert dates_to_mark_missing(now, SHANGHAI, date(2026, 5, 20)) == []


def test_dst_days_close_at_local_midnight() -> None:
    spring_end = datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert dates_to_mark_missing(spring_end - timedelta(seconds=1), BERLIN, date(2026, 3, 28)) == []
    assert dates_to_mark_missing(spring_end, BERLIN, date(2026, 3, 28)) == [SPRING]
    autumn_end = datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert dates_to_mark_missing(autumn_end - timedelta(seconds=1), BERLIN, date(2026, 10, 24)) == []
    assert dates_to_mark_missing(autumn_end, BERLIN, date(2026, 10, 24)) == [AUTUMN]


def test_reps_missing_report_respects_report_days() -> None:
    assert reps_missing_report(DAY, ["b", "a", "c"], ["b"]) == ["a", "c"]
    weekdays_only = ReportPolicy(report_weekdays=frozenset(range(5)))
    sunday = date(2026, 5, 17)
    assert reps_missing_report(sunday, ["a"], [], weekdays_only) == []
    assert reps_missing_report(sunday, ["a"], []) == ["a"]


# --- reports ------------------------------------------------------------------------------------


def content():
    return validate_report_content(
        summary=" Visited Acme and Globex ", visit_ids=["v1", "v2", "v1"], tomorrow_plan="Quote"
    )


def submitted(at: datetime, existing: DailyReport | None = None, tz: ZoneInfo = SHANGHAI) -> DailyReport:
    return submit_report(
        report_id="r-1", rep_id="rep-1", report_date=DAY, content=content(), submitted_at=at, tz=tz, existing=existing
    )


def test_content_is_normalised_and_summary_required() -> None:
    c = content()
    assert c.summary == "Visited Acme and Globex" and c.visit_ids == ("v1", "v2") and c.problems is None
    with pytest.raises(ValidationFailed) as info:
        validate_report_content(summary="  ", problems="x" * 5001)
    assert {f for f, _ in info.value.violations} == {"summary", "problems"}


def test_content_bounds_visits() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_report_content(summary="s", visit_ids=[f"v{i}" for i in range(101)])
    assert info.value.field == "visit_ids"


def test_submit_classifies_and_records() -> None:
    on_time = submitted(local(DAY, 17, 59, 59, SHANGHAI))
    assert on_time.status is ReportStatus.ON_TIME and on_time.time_zone == "Asia/Shanghai"
    assert on_time.submitted_at == datetime(2026, 5, 12, 9, 59, 59, tzinfo=UTC)
    assert submitted(local(DAY, 18, 0, 1, SHANGHAI)).status is ReportStatus.LATE


def test_one_report_per_rep_per_date() -> None:
    first = submitted(local(DAY, 12, 0, 0, SHANGHAI))
    with pytest.raises(Conflict) as info:
        submitted(local(DAY, 13, 0, 0, SHANGHAI), existing=first)
    assert info.value.field == "report_date"


def test_cannot_submit_over_a_missing_record() -> None:
    closed = missing_report(
        report_id="m-1", rep_id="rep-1", report_date=DAY, tz=SHANGHAI, now=datetime(2026, 5, 12, 16, 0, tzinfo=UTC)
    )
    with pytest.raises(FailedPrecondition):
        submitted(local(DAY, 13, 0, 0, SHANGHAI), existing=closed)


def test_missing_record_only_after_the_local_day_ends() -> None:
    with pytest.raises(FailedPrecondition):
        missing_report(
            report_id="m", rep_id="rep-1", report_date=DAY, tz=BERLIN, now=datetime(2026, 5, 12, 21, 59, 59, tzinfo=UTC)
        )
    record = missing_report(
        report_id="m", rep_id="rep-1", report_date=DAY, tz=BERLIN, now=datetime(2026, 5, 12, 22, 0, tzinfo=UTC)
    )
    assert record.status is ReportStatus.MISSING and record.content is None and record.submitted_at is None


def test_manager_marks_falsified_with_comment() -> None:
    report = submitted(local(DAY, 12, 0, 0, SHANGHAI))
    when = datetime(2026, 5, 13, 2, 0, tzinfo=UTC)
    flagged = mark_falsified(report, manager_id="mgr", comment=" visit never happened ", rep_in_scope=True, now=when)
    assert flagged.falsified and flagged.falsified_by == "mgr"
    assert flagged.falsified_comment == "visit never happened" and flagged.falsified_at == when
    assert flagged.status is ReportStatus.ON_TIME


def test_falsified_rules() -> None:
    report = submitted(local(DAY, 12, 0, 0, SHANGHAI))
    with pytest.raises(ValidationFailed) as info:
        mark_falsified(report, manager_id="mgr", comment=" ", rep_in_scope=True, now=LATER)
    assert info.value.field == "comment"
    with pytest.raises(PermissionDenied):
        mark_falsified(report, manager_id="mgr", comment="x", rep_in_scope=False, now=LATER)
    with pytest.raises(PermissionDenied):
        mark_falsified(report, manager_id="rep-1", comment="x", rep_in_scope=True, now=LATER)
    flagged = mark_falsified(report, manager_id="mgr", comment="x", rep_in_scope=True, now=LATER)
    with pytest.raises(Conflict):
        mark_falsified(flagged, manager_id="mgr", comment="x", rep_in_scope=True, now=LATER)
    missing = missing_report(
        report_id="m", rep_id="rep-1", report_date=DAY, tz=SHANGHAI, now=datetime(2026, 5, 13, tzinfo=UTC)
    )
    with pytest.raises(FailedPrecondition):
        mark_falsified(missing, manager_id="mgr", comment="x", rep_in_scope=True, now=LATER)
