from datetime import datetime, timedelta, UTC

import pytest

from salesgrid_activities.domain.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_activities.domain.tasks import (
    MAX_REMINDER_MINUTES,
    MAX_REMINDERS,
    Task,
    TaskStatus,
    accept_task,
    calendar_view,
    complete_task,
    create_task,
    is_overdue,
    overdue_tasks,
    reject_task,
    reminders_due,
)

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
START = NOW + timedelta(days=1)


def make(**overrides: object) -> Task:
    args: dict[str, object] = dict(
        task_id="t-1",
        creator_id="mgr",
        assignee_id="rep",
        title=" Visit Acme ",
        start_at=START,
        end_at=START + timedelta(hours=1),
        due_at=None,
        reminder_minutes=[15, 60],
        assignee_in_scope=True,
        now=NOW,
    )
    args.update(overrides)
    return create_task(**args)  # type: ignore[arg-type]


def bad_fields(**overrides: object) -> set[str]:
    with pytest.raises(ValidationFailed) as info:
        make(**overrides)
    return {f for f, _ in info.value.violations}


# --- creation -----------------------------------------------------------------------------


def test_task_for_someone_else_waits_for_acceptance() -> None:
    task = make()
    assert task.status is TaskStatus.PENDING_ACCEPTANCE
    assert task.title == "Visit Acme"
    assert task.accepted_at is None
    assert task.reminder_minutes == (60, 15)


def test_self_assigned_task_starts_accepted() -> None:
    task = make(creator_id="rep", assignee_id="rep", assignee_in_scope=False)
    assert task.status is TaskStatus.ACCEPTED
    assert task.accepted_at == NOW


def test_assignee_out_of_scope_is_denied() -> None:
    with pytest.raises(PermissionDenied) as info:
        make(assignee_in_scope=False)
    assert info.value.field == "assignee_id"


def test_end_must_follow_start() -> None:
    assert bad_fields(end_at=START) == {"end_at"}
    assert bad_fields(end_at=START - timedelta(minutes=1)) == {"end_at"}
    assert bad_fields(start_at=None, reminder_minutes=[]) == {"start_at"}


def test_times_must_be_aware() -> None:
    assert bad_fields(due_at=datetime(2026, 6, 3, 9, 0)) == {"due_at"}


def test_title_required_and_bounded() -> None:
    assert bad_fields(title="  ") == {"title"}
    assert bad_fields(title="x" * 201) == {"title"}


def test_reminders_are_bounded() -> None:
    assert bad_fields(reminder_minutes=[-1]) == {"reminder_minutes"}
    assert bad_fields(reminder_minutes=[MAX_REMINDER_MINUTES + 1]) == {"reminder_minutes"}
    assert bad_fields(reminder_minutes=list(range(MAX_REMINDERS + 1))) == {"reminder_minutes"}
    assert bad_fields(reminder_minutes=[True]) == {"reminder_minutes"}
    assert bad_fields(reminder_minutes=[1.5]) == {"reminder_minutes"}
    assert make(reminder_minutes=[0, 0, 10]).reminder_minutes == (10, 0)


def test_reminders_need_an_anchor() -> None:
    assert bad_fields(start_at=None, end_at=None, due_at=None) == {"reminder_minutes"}
    assert make(start_at=None, end_at=None, due_at=START, reminder_minutes=[5]).reminder_anchor == START


def test_all_bad_fields_reported_together() -> None:
    assert bad_fields(title="", end_at=START, reminder_minutes=[-5]) == {"title", "end_at", "reminder_minutes"}


# --- state machine ---------------------------------------------------------------------------


def test_assignee_accepts_then_completes() -> None:
    accepted = accept_task(make(), actor_id="rep", now=NOW + timedelta(minutes=1))
    assert accepted.status is TaskStatus.ACCEPTED and accepted.accepted_at == NOW + timedelta(minutes=1)
    done = complete_task(accepted, actor_id="rep", now=NOW + timedelta(hours=2))
    assert done.status is TaskStatus.COMPLETED and done.completed_at == NOW + timedelta(hours=2)


def test_only_the_assignee_accepts_rejects_or_completes() -> None:
    task = make()
    with pytest.raises(PermissionDenied):
        accept_task(task, actor_id="mgr", now=NOW)
    with pytest.raises(PermissionDenied):
        reject_task(task, actor_id="mgr", reason="no", now=NOW)
    with pytest.raises(PermissionDenied):
        complete_task(accept_task(task, actor_id="rep", now=NOW), actor_id="mgr", now=NOW)


def test_rejection_needs_a_reason() -> None:
    with pytest.raises(ValidationFailed) as info:
        reject_task(make(), actor_id="rep", reason="   ", now=NOW)
    assert info.value.field == "reason"
    rejected = reject_task(make(), actor_id="rep", reason=" on leave ", now=NOW)
    assert rejected.status is TaskStatus.REJECTED and rejected.reject_reason == "on leave"


def test_pending_task_cannot_be_completed() -> None:
    with pytest.raises(FailedPrecondition):
        complete_task(make(), actor_id="rep", now=NOW)


@pytest.mark.parametrize("action", ["accept", "reject"])
def test_accept_or_reject_only_while_pending(action: str) -> None:
    accepted = make(creator_id="rep")
    rejected = reject_task(make(), actor_id="rep", reason="busy", now=NOW)
    for task in (accepted, rejected):
        with pytest.raises(FailedPrecondition):
            if action == "accept":
                accept_task(task, actor_id="rep", now=NOW)
            else:
                reject_task(task, actor_id="rep", reason="x", now=NOW)


def test_completed_or_rejected_cannot_be_completed_again() -> None:
    done = complete_task(make(creator_id="rep"), actor_id="rep", now=NOW)
    with pytest.raises(FailedPrecondition):
        complete_task(done, actor_id="rep", now=NOW)
    with pytest.raises(FailedPrecondition):
        complete_task(reject_task(make(), actor_id="rep", reason="x", now=NOW), actor_id="rep", now=NOW)


# --- overdue -----------------------------------------------------------------------------------


def test_overdue_only_when_open_and_past_due() -> None:
    due = NOW + timedelta(hours=5)
    pending = make(due_at=due)
    accepted = accept_task(pending, actor_id="rep", now=NOW)
    assert not is_overdue(pending, due)
    assert is_overdue(pending, due + timedelta(seconds=1))
    assert is_overdue(accepted, due + timedelta(seconds=1))
    assert not is_overdue(complete_task(accepted, actor_id="rep", now=NOW), due + timedelta(days=1))
    assert not is_overdue(reject_task(pending, actor_id="rep", reason="x", now=NOW), due + timedelta(days=1))
    assert not is_overdue(make(due_at=None), NOW + timedelta(days=30))


def test_overdue_tasks_filters() -> None:
    late = make(task_id="late", due_at=NOW)
    fine = make(task_id="fine", due_at=NOW + timedelta(days=1))
    assert [t.task_id for t in overdue_tasks([late, fine], NOW + timedelta(hours=1))] == ["late"]


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_fire_once_across_consecutive_windows() -> None:
    task = make()  # start START, reminders 60 and 15 minutes before
    marker = NOW
    fired = []
    for step in range(1, 24 * 60 * 2, 7):  # scheduler ticks every 7 minutes for two days
        until = NOW + timedelta(minutes=step)
        fired += reminders_due([task], after=marker, until=until)
        marker = until
    assert [(f.minutes_before, f.fire_at) for f in fired] == [
        (60, START - timedelta(minutes=60)),
        (15, START - timedelta(minutes=15)),
    ]
    assert all(f.assignee_id == "rep" for f in fired)


def test_reminder_window_is_half_open() -> None:
    fire_at = START - timedelta(minutes=15)
    task = make(reminder_minutes=[15])
    assert reminders_due([task], after=fire_at - timedelta(minutes=1), until=fire_at)
    assert reminders_due([task], after=fire_at, until=fire_at + timedelta(minutes=1)) == []


def test_retrying_the_same_window_with_the_new_marker_fires_nothing() -> None:
    task = make(reminder_minutes=[15])
    window = dict(after=NOW, until=START)
    assert len(reminders_due([task], **window)) == 1
    assert reminders_due([task], after=START, until=START) == []


def test_no_reminders_for_closed_tasks_and_task_reminders_count_from_due() -> None:
    done = complete_task(make(creator_id="rep"), actor_id="rep", now=NOW)
    rejected = reject_task(make(task_id="t-2"), actor_id="rep", reason="x", now=NOW)
    due_task = make(task_id="t-3", start_at=None, end_at=None, due_at=START, reminder_minutes=[30])
    fired = reminders_due([done, rejected, due_task], after=NOW, until=START)
    assert [(f.task_id, f.fire_at) for f in fired] == [("t-3", START - timedelta(minutes=30))]


def test_reminder_window_must_not_run_backwards() -> None:
    with pytest.raises(ValidationFailed) as info:
        reminders_due([], after=NOW, until=NOW - timedelta(seconds=1))
    assert info.value.field == "until"


# --- calendar ----------------------------------------------------------------------------------


WINDOW = dict(window_start=START - timedelta(hours=12), window_end=START + timedelta(hours=12))


def test_own_entries_always_visible_in_full_even_private() -> None:
    task = make(creator_id="rep", private=True, description="dentist")
    items = calendar_view([task], viewer_id="rep", can_view_user=lambda _: False, **WINDOW)
    assert len(items) == 1 and not items[0].busy_only and items[0].title == "Visit Acme"


def test_others_entries_follow_the_scope_predicate() -> None:
    task = make(creator_id="rep")
    assert calendar_view([task], viewer_id="boss", can_view_user=lambda user: user == "rep", **WINDOW)
    assert calendar_view([task], viewer_id="peer", can_view_user=lambda user: False, **WINDOW) == []


def test_others_private_entries_show_as_busy() -> None:
    task = make(creator_id="rep", private=True, description="dentist")
    (item,) = calendar_view([task], viewer_id="boss", can_view_user=lambda _: True, **WINDOW)
    assert item.busy_only and item.title is None and item.description is None
    assert (item.start, item.end, item.owner_id) == (START, START + timedelta(hours=1), "rep")


def test_creator_sees_assigned_task_in_full() -> None:
    task = make(private=True)
    (item,) = calendar_view([task], viewer_id="mgr", can_view_user=lambda _: False, **WINDOW)
    assert not item.busy_only and item.title == "Visit Acme"


def test_calendar_window_overlap_and_rejected_entries() -> None:
    inside = make(task_id="in", creator_id="rep")
    outside = make(
        task_id="out", creator_id="rep", start_at=START + timedelta(days=3), end_at=START + timedelta(days=3, hours=1)
    )
    touching = make(
        task_id="touch", creator_id="rep", start_at=START - timedelta(hours=13), end_at=START - timedelta(hours=12)
    )
    due_only = make(task_id="due", creator_id="rep", start_at=None, end_at=None, due_at=START - timedelta(hours=1))
    rejected = reject_task(make(task_id="rej"), actor_id="rep", reason="x", now=NOW)
    items = calendar_view(
        [inside, outside, touching, due_only, rejected], viewer_id="rep", can_view_user=lambda _: True, **WINDOW
    )
    assert [i.task_id for i in items] == ["due", "in"]


def test_calendar_window_must_be_ordered() -> None:
    with pytest.raises(ValidationFailed) as info:
        calendar_view([], viewer_id="rep", can_view_user=lambda _: True, window_start=START, window_end=START)
    assert info.value.field == "window_end"
