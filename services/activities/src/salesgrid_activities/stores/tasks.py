"""The task store: the one mapping between a `tasks` row and the domain Task (`task_from_row` /
`task_to_row`), lookups, inserts, versioned saves, scoped pages, calendar windows and the open
tasks a scheduler run looks at."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.errors import Conflict
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain.tasks import OPEN_STATUSES, Task, TaskStatus
from salesgrid_activities.models import TaskRow


def task_from_row(row: TaskRow) -> Task:
    return Task(
        task_id=row.id,
        creator_id=row.creator_id,
        assignee_id=row.owner_id,
        title=row.title,
        description=row.description,
        start_at=row.start_at,
        end_at=row.end_at,
        due_at=row.due_at,
        reminder_minutes=tuple(row.reminder_minutes),
        private=row.private,
        status=TaskStatus(row.status),
        created_at=row.created_at,
        accepted_at=row.accepted_at,
        rejected_at=row.rejected_at,
        reject_reason=row.reject_reason,
        completed_at=row.completed_at,
        org_path=row.org_path,
        version=row.version,
    )


def task_to_row(task: Task) -> dict[str, Any]:
    return {
        "id": task.task_id,
        "creator_id": task.creator_id,
        "owner_id": task.assignee_id,
        "org_path": task.org_path,
        "title": task.title,
        "description": task.description,
        "start_at": task.start_at,
        "end_at": task.end_at,
        "due_at": task.due_at,
        "reminder_minutes": list(task.reminder_minutes),
        "private": task.private,
        "status": task.status.value,
        "created_at": task.created_at,
        "accepted_at": task.accepted_at,
        "rejected_at": task.rejected_at,
        "reject_reason": task.reject_reason,
        "completed_at": task.completed_at,
        "version": task.version,
    }


def tasks_from_rows(rows: Iterable[TaskRow]) -> list[Task]:
    return [task_from_row(row) for row in rows]


async def get_task(session: AsyncSession, task_id: str) -> Task | None:
    row = await session.get(TaskRow, task_id)
    return None if row is None else task_from_row(row)


def insert_task(session: AsyncSession, task: Task) -> None:
    """Added to the session; written with the transaction's next flush."""
    session.add(TaskRow(**task_to_row(task)))


async def save_task(session: AsyncSession, before: Task, after: Task) -> Task:
    """Store `after` if the row is still at `before`'s version; the stored task, one version on."""
    old, new = task_to_row(before), task_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    result = await session.execute(
        update(TaskRow)
        .where(TaskRow.id == before.task_id, TaskRow.version == before.version)
        .values(**changed, version=TaskRow.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"task {before.task_id} was modified concurrently", "version")
    return replace(after, version=before.version + 1)


async def task_page(
    session: AsyncSession, query: Select[tuple[TaskRow]], page_size: int, page_token: str
) -> Page[Task]:
    found = await keyset_page(session, query, TaskRow.id, page_size, page_token)
    return Page(tasks_from_rows(found.items), found.next_token)


_OPEN = TaskRow.status.in_([s.value for s in OPEN_STATUSES])
# When an entry starts (a deadline-only task: its due time) and ends.
_ANCHOR = func.coalesce(TaskRow.start_at, TaskRow.due_at)
_END = func.coalesce(TaskRow.end_at, TaskRow.start_at, TaskRow.due_at)


async def page_in_scope(
    session: AsyncSession,
    principal: Principal,
    *,
    assignee_id: str,
    status: TaskStatus | None,
    open_and_due_before: datetime | None,
    page_size: int,
    page_token: str,
) -> Page[Task]:
    """A page of the tasks in the caller's tasks:read scope and those he handed out (creators keep
    seeing them whatever their read scope), filtered by the values given."""
    query = select(TaskRow).where(
        scope_filter(
            principal, "tasks:read", TaskRow.owner_id, TaskRow.org_path, TaskRow.creator_id == principal.subject_id
        )
    )
    if assignee_id:
        query = query.where(TaskRow.owner_id == assignee_id)
    if status is not None:
        query = query.where(TaskRow.status == status.value)
    if open_and_due_before is not None:
        query = query.where(TaskRow.due_at < open_and_due_before, _OPEN)
    return await task_page(session, query, page_size, page_token)


async def in_window(
    session: AsyncSession, start: datetime, end: datetime, *, unit_path: str = "", owner_id: str = ""
) -> list[Task]:
    """Entries overlapping [start, end) coarsely (the domain decides exactly): starting before the
    end and ending after the start; of a unit's subtree or of one owner."""
    query = select(TaskRow).where(_ANCHOR < end, _END >= start)
    if unit_path:
        query = query.where(TaskRow.org_path.startswith(unit_path, autoescape=True))
    if owner_id:
        query = query.where(TaskRow.owner_id == owner_id)
    return tasks_from_rows((await session.scalars(query)).all())


async def open_starting_between(session: AsyncSession, after: datetime, until: datetime) -> list[Task]:
    """Open tasks whose start (or due time) falls in (after, until]."""
    query = select(TaskRow).where(_OPEN, _ANCHOR > after, _ANCHOR <= until)
    return tasks_from_rows((await session.scalars(query)).all())


async def open_due_between(session: AsyncSession, after: datetime, before: datetime) -> list[Task]:
    """Open tasks due in (after, before), by due time."""
    query = (
        select(TaskRow)
        .where(_OPEN, TaskRow.due_at > after, TaskRow.due_at < before)
        .order_by(TaskRow.due_at, TaskRow.id)
    )
    return tasks_from_rows((await session.scalars(query)).all())
