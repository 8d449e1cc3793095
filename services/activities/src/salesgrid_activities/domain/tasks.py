"""Tasks and schedules (任务/日程): assignment, acceptance, completion, reminders, calendar views."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ._validation import Violations, require_instant
from .errors import FailedPrecondition, PermissionDenied, ValidationFailed

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5000
MAX_REASON_LENGTH = 1000
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 60 * 24 * 28  # four weeks ahead is the furthest sensible nudge


class TaskStatus(StrEnum):
    PENDING_ACCEPTANCE = "pending_acceptance"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"


OPEN_STATUSES = frozenset({TaskStatus.PENDING_ACCEPTANCE, TaskStatus.ACCEPTED})


@dataclass(frozen=True)
class Task:
    """A task or calendar entry; it sits in the assignee's calendar."""

    task_id: str
    creator_id: str
    assignee_id: str
    title: str
    description: str | None
    start_at: datetime | None
    end_at: datetime | None
    due_at: datetime | None
    reminder_minutes: tuple[int, ...]  # minutes before the anchor, distinct, descending
    private: bool
    status: TaskStatus
    created_at: datetime
    accepted_at: datetime | None = None
    rejected_at: datetime | None = None
    reject_reason: str | None = None
    completed_at: datetime | None = None
    org_path: str = ""  # the assignee's: the task's scope
    version: int = 1

    @property
    def reminder_anchor(self) -> datetime | None:
        """Reminders count back from the start of a schedule, else from a task's due time."""
        return self.start_at or self.due_at


def create_task(
    *,
    task_id: str,
    creator_id: str,
    assignee_id: str,
    title: str,
    description: str | None = None,
    start_at: datetime | None = None,
    end_at: datetime | None = None,
    due_at: datetime | None = None,
    reminder_minutes: Iterable[int] = (),
    private: bool = False,
    assignee_in_scope: bool,
    now: datetime,
) -> Task:
    """Validate and create; a task for someone else waits for acceptance, one's own is accepted.

    ``assignee_in_scope`` is the caller's data-scope verdict on the assignee (ignored when
    self-assigned); a task for someone outside it is refused.
    """
    created = require_instant(now, "now")
    v = Violations()
    tid = v.identifier(task_id, "task_id", required=True)
    creator = v.identifier(creator_id, "creator_id", required=True)
    assignee = v.identifier(assignee_id, "assignee_id", required=True)
    clean_title = v.text(title, "title", max_length=MAX_TITLE_LENGTH, required=True)
    clean_description = v.text(description, "description", max_length=MAX_DESCRIPTION_LENGTH, required=False)
    start = v.instant(start_at, "start_at", required=False)
    end = v.instant(end_at, "end_at", required=False)
    due = v.instant(due_at, "due_at", required=False)
    if end is not None and start is None:
        v.add("start_at", "is required when end_at is given")
    if start is not None and end is not None and end <= start:
        v.add("end_at", "must be after start_at")
    reminders = _check_reminders(v, reminder_minutes)
    if reminders and start is None and due is None:
        v.add("reminder_minutes", "need start_at or due_at to count back from")
    if not isinstance(private, bool):
        v.add("private", "must be true or false")
    v.raise_if_any()
    assert tid is not None and creator is not None and assignee is not None and clean_title is not None
    self_assigned = creator == assignee
    if not self_assigned and not assignee_in_scope:
        raise PermissionDenied("the assignee is outside your scope", "assignee_id")
    return Task(
        task_id=tid,
        creator_id=creator,
        assignee_id=assignee,
        title=clean_title,
        description=clean_description,
        start_at=start,
        end_at=end,
        due_at=due,
        reminder_minutes=reminders,
        private=private,
        status=TaskStatus.ACCEPTED if self_assigned else TaskStatus.PENDING_ACCEPTANCE,
        created_at=created,
        accepted_at=created if self_assigned else None,
    )


def _check_reminders(v: Violations, minutes: Iterable[int]) -> tuple[int, ...]:
    values = list(minutes)
    if len(values) > MAX_REMINDERS:
        v.add("reminder_minutes", f"at most {MAX_REMINDERS} reminders")
        return ()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            v.add("reminder_minutes", "must be whole minutes")
            return ()
        if not 0 <= value <= MAX_REMINDER_MINUTES:
            v.add("reminder_minutes", f"must be between 0 and {MAX_REMINDER_MINUTES} minutes")
            return ()
    return tuple(sorted(set(values), reverse=True))


def accept_task(task: Task, *, actor_id: str, now: datetime) -> Task:
    at = require_instant(now, "now")
    _require_assignee(task, actor_id, "accept")
    _require_status(task, TaskStatus.PENDING_ACCEPTANCE, "accept")
    return replace(task, status=TaskStatus.ACCEPTED, accepted_at=at)


def reject_task(task: Task, *, actor_id: str, reason: str, now: datetime) -> Task:
    at = require_instant(now, "now")
    v = Violations()
    clean_reason = v.text(reason, "reason", max_length=MAX_REASON_LENGTH, required=True)
    v.raise_if_any()
    _require_assignee(task, actor_id, "reject")
    _require_status(task, TaskStatus.PENDING_ACCEPTANCE, "reject")
    return replace(task, status=TaskStatus.REJECTED, rejected_at=at, reject_reason=clean_reason)


def complete_task(task: Task, *, actor_id: str, now: datetime) -> Task:
    at = require_instant(now, "now")
    _require_assignee(task, actor_id, "complete")
    _require_status(task, TaskStatus.ACCEPTED, "complete")
    return replace(task, status=TaskStatus.COMPLETED, completed_at=at)


def _require_assignee(task: Task, actor_id: str, action: str) -> None:
    if actor_id != task.assignee_id:
        raise PermissionDenied(f"only the assignee can {action} this task", "actor_id")


def _require_status(task: Task, expected: TaskStatus, action: str) -> None:
    if task.status is not expected:
        raise FailedPrecondition(f"cannot {action} a task that is {task.status.value}", "status")


def is_overdue(task: Task, now: datetime) -> bool:
    """Open (not yet completed or rejected) and past its due time; schedules without due never are."""
    at = require_instant(now, "now")
    return task.status in OPEN_STATUSES and task.due_at is not None and task.due_at < at


def overdue_tasks(tasks: Iterable[Task], now: datetime) -> list[Task]:
    return [task for task in tasks if is_overdue(task, now)]


@dataclass(frozen=True)
class ReminderFiring:
    task_id: str
    assignee_id: str
    minutes_before: int
    fire_at: datetime


def reminders_due(tasks: Iterable[Task], *, after: datetime, until: datetime) -> list[ReminderFiring]:
    """Reminders whose fire time lies in ``(after, until]``, in fire-time order.

    The scheduler passes its last-fired marker as ``after`` and stores ``until`` as the new
    marker: the half-open windows tile time, so each reminder fires exactly once even when a
    run is retried with the same marker.
    """
    start = require_instant(after, "after")
    end = require_instant(until, "until")
    if end < start:
        raise ValidationFailed("must not be before after", "until")
    firings = [
        ReminderFiring(task.task_id, task.assignee_id, minutes, fire_at)
        for task in tasks
        if task.status in OPEN_STATUSES and task.reminder_anchor is not None
        for minutes in task.reminder_minutes
        if start < (fire_at := task.reminder_anchor - timedelta(minutes=minutes)) <= end
    ]
    return sorted(firings, key=lambda f: (f.fire_at, f.task_id, f.minutes_before))


@dataclass(frozen=True)
class CalendarItem:
    """One entry as a viewer may see it: busy-only items carry no title or description."""

    task_id: str
    owner_id: str
    start: datetime
    end: datetime
    busy_only: bool
    title: str | None
    description: str | None
    status: TaskStatus


def calendar_view(
    tasks: Iterable[Task],
    *,
    viewer_id: str,
    can_view_user: Callable[[str], bool],
    window_start: datetime,
    window_end: datetime,
) -> list[CalendarItem]:
    """Entries overlapping ``[window_start, window_end)`` that ``viewer_id`` may see.

    Own entries (as assignee or creator) show in full; others' show only when
    ``can_view_user(owner_id)`` says they are in scope, and private ones only as busy time.
    A task with just a due time shows as an instant; rejected entries are off the calendar.
    """
    lo = require_instant(window_start, "window_start")
    hi = require_instant(window_end, "window_end")
    if hi <= lo:
        raise ValidationFailed("must be after window_start", "window_end")
    items: list[CalendarItem] = []
    for task in tasks:
        if task.status is TaskStatus.REJECTED:
            continue
        span = _span(task)
        if span is None:
            continue
        start, end = span
        overlaps = start < hi and end > lo if end > start else lo <= start < hi
        if not overlaps:
            continue
        own = viewer_id in (task.assignee_id, task.creator_id)
        if not own and not can_view_user(task.assignee_id):
            continue  # others are hidden unless the scope predicate admits them
        busy_only = not own and task.private
        items.append(
            CalendarItem(
                task_id=task.task_id,
                owner_id=task.assignee_id,
                start=start,
                end=end,
                busy_only=busy_only,
                title=None if busy_only else task.title,
                description=None if busy_only else task.description,
                status=task.status,
            )
        )
    return sorted(items, key=lambda item: (item.start, item.task_id))


def _span(task: Task) -> tuple[datetime, datetime] | None:
    if task.start_at is not None:
        return task.start_at, task.end_at or task.start_at
    if task.due_at is not None:
        return task.due_at, task.due_at
    return None
