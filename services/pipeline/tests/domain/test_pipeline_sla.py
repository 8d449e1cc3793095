from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_pipeline.domain.errors import ValidationFailed
from salesgrid_pipeline.domain.sla import SlaLevel, due_notifications, sla_status

ENTERED = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def check(days_after: float, last: SlaLevel = SlaLevel.ON_TIME, sla_days: int | None = 14, manager: str | None = "mgr"):
    return due_notifications(
        subject_id="opp-1",
        stage_code="opportunity",
        entered_at=ENTERED,
        sla_days=sla_days,
        now=ENTERED + timedelta(days=days_after),
        owner_id="rep",
        manager_id=manager,
        escalation_ids=("director",),
        last_level_notified=last,
    )


@pytest.mark.parametrize(
    ("days_after", "level"),
    [
        (0, SlaLevel.ON_TIME),
        (14, SlaLevel.ON_TIME),
        (14.001, SlaLevel.OVERDUE),
        (41.9, SlaLevel.OVERDUE),
        (42, SlaLevel.ESCALATED),
    ],
)
def test_levels_at_the_boundaries(days_after: float, level: SlaLevel) -> None:
    # due after 14 days; escalated when overdue by twice the SLA (14 + 28 = 42 days)
    assert sla_status(ENTERED, 14, ENTERED + timedelta(days=days_after)).level is level


def test_overdue_reminds_owner_and_manager_once() -> None:
    first = check(15)
    assert first.level_notified is SlaLevel.OVERDUE
    assert [(n.level, n.recipient_ids) for n in first.notifications] == [(SlaLevel.OVERDUE, ("rep", "mgr"))]
    assert first.status.overdue_by == timedelta(days=1)
    again = check(16, last=first.level_notified)
    assert again.notifications == () and again.level_notified is SlaLevel.OVERDUE


def test_escalation_adds_escalation_recipients_and_is_sent_once() -> None:
    escalated = check(50, last=SlaLevel.OVERDUE)
    assert [(n.level, n.recipient_ids) for n in escalated.notifications] == [
        (SlaLevel.ESCALATED, ("rep", "mgr", "director"))
    ]
    assert check(60, last=SlaLevel.ESCALATED).notifications == ()


def test_missed_runs_send_only_the_highest_level() -> None:
    result = check(100)
    assert [n.level for n in result.notifications] == [SlaLevel.ESCALATED]


def test_on_time_sends_nothing() -> None:
    assert check(3).notifications == ()


def test_missing_or_duplicate_manager_is_deduplicated() -> None:
    assert check(15, manager=None).notifications[0].recipient_ids == ("rep",)
    assert check(15, manager="rep").notifications[0].recipient_ids == ("rep",)


def test_terminal_stage_without_sla_is_never_late() -> None:
    result = check(1000, sla_days=None)
    assert result.status.level is SlaLevel.ON_TIME and result.notifications == ()


@pytest.mark.parametrize("sla_days", [0, -1, True])
def test_sla_days_must_be_positive(sla_days: int) -> None:
    with pytest.raises(ValidationFailed) as info:
        sla_status(ENTERED, sla_days, ENTERED)
    assert info.value.field == "sla_days"


def test_naive_times_rejected() -> None:
    with pytest.raises(ValidationFailed) as info:
        sla_status(datetime(2024, 5, 1), 14, ENTERED)
    assert info.value.field == "entered_at"


@given(
    days=st.integers(min_value=1, max_value=120),
    offsets=st.lists(st.integers(min_value=0, max_value=400 * 24), min_size=1, max_size=12),
)
def test_replaying_checks_in_time_order_notifies_each_level_at_most_once(days: int, offsets: list[int]) -> None:
    last = SlaLevel.ON_TIME
    sent: list[SlaLevel] = []
    for hours in sorted(offsets):
        result = due_notifications(
            subject_id="o",
            stage_code="s",
            entered_at=ENTERED,
            sla_days=days,
            now=ENTERED + timedelta(hours=hours),
            owner_id="rep",
            manager_id="mgr",
            last_level_notified=last,
        )
        sent += [n.level for n in result.notifications]
        last = result.level_notified
    assert len(sent) == len(set(sent)) and sent == sorted(sent)
