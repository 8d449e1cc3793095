"""The payloads of the task's events, built from the domain Task in this one place."""

from __future__ import annotations

from salesgrid.events.v1.activities_events_pb2 import ActivitiesReminderDue, ActivitiesTaskState
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.tasks import ReminderFiring, Task


def task_state(task: Task) -> ActivitiesTaskState:
    """The task as its created/accepted/rejected/completed/overdue events carry it."""
    return ActivitiesTaskState(
        task_id=task.task_id,
        creator_id=task.creator_id,
        assignee_id=task.assignee_id,
        org_path=task.org_path,
        title=task.title,
        status=task.status.value,
        due_at=to_timestamp(task.due_at),
        reject_reason=task.reject_reason or "",
    )


def reminder_due(task: Task, firing: ReminderFiring) -> ActivitiesReminderDue:
    return ActivitiesReminderDue(
        task_id=task.task_id,
        assignee_id=task.assignee_id,
        org_path=task.org_path,
        title=task.title,
        minutes_before=firing.minutes_before,
        fire_at=to_timestamp(firing.fire_at),
        anchor_at=to_timestamp(task.reminder_anchor),
    )
