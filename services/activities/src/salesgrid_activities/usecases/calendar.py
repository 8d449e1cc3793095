"""Calendar use cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from salesgrid_common.auth import Principal
from salesgrid_common.directory import directory_units, get_user
from salesgrid_common.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_activities.domain import tasks
from salesgrid_activities.models import TaskRow
from salesgrid_activities.stores.tasks import task_from_row, tasks_from_rows
from salesgrid_activities.task_events import reminder_due

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


MAX_CALENDAR_WINDOW = timedelta(days=62)


class CalendarMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: calendar."""

    async def calendar(
        self,
        principal: Principal,
        *,
        user_id: str,
        unit_id: str,
        window_start: datetime | None,
        window_end: datetime | None,
    ) -> list[tasks.CalendarItem]:
        """One person's or one team's entries in the window, as the caller may see them."""
        principal.require("tasks:read")
        if window_start is None or window_end is None:
            raise ValidationFailed("is required", "window_start" if window_start is None else "window_end")
        if window_end - window_start > MAX_CALENDAR_WINDOW:
            raise ValidationFailed(f"must be at most {MAX_CALENDAR_WINDOW.days} days after window_start", "window_end")
        if user_id and unit_id:
            raise ValidationFailed("give user_id or unit_id, not both", "unit_id")
        anchor = func.coalesce(TaskRow.start_at, TaskRow.due_at)
        # Coarse overlap in SQL (the domain decides exactly): starts before the end, ends after the start.
        query = select(TaskRow).where(
            anchor < window_end, func.coalesce(TaskRow.end_at, TaskRow.start_at, TaskRow.due_at) >= window_start
        )
        async with self.sessions() as session:
            if unit_id:
                path = await session.scalar(select(directory_units.c.path).where(directory_units.c.unit_id == unit_id))
                if path is None:
                    raise NotFound(f"org unit {unit_id} not found", "unit_id")
                query = query.where(TaskRow.org_path.startswith(path, autoescape=True))
            else:
                user_id = user_id or principal.subject_id
                if user_id != principal.subject_id:
                    user = await get_user(session, user_id)
                    if user is None:
                        raise NotFound(f"user {user_id} is not known here", "user_id")
                    if not principal.can_see("tasks:read", user.user_id, user.org_path):
                        raise PermissionDenied("this user's calendar is outside your data scope")
                query = query.where(TaskRow.owner_id == user_id)
            rows = (await session.scalars(query)).all()
        found = tasks_from_rows(rows)
        paths = {task.assignee_id: task.org_path for task in found}
        return tasks.calendar_view(
            found,
            viewer_id=principal.subject_id,
            can_view_user=lambda owner: principal.can_see("tasks:read", owner, paths[owner]),
            window_start=window_start,
            window_end=window_end,
        )

    async def fire_due_reminders(self) -> int:
        """reminder.due for each reminder whose time fell in (last run, now]; exactly once, since
        the mark moves in the same transaction as the events."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            last = await self._advance_mark(session, "reminders", now)
            if last is None:
                return 0
            anchor = func.coalesce(TaskRow.start_at, TaskRow.due_at)
            by_id = {
                r.id: task_from_row(r)
                for r in (
                    await session.scalars(
                        select(TaskRow).where(
                            TaskRow.status.in_([s.value for s in tasks.OPEN_STATUSES]),
                            anchor > last,
                            anchor <= now + timedelta(minutes=tasks.MAX_REMINDER_MINUTES),
                        )
                    )
                ).all()
            }
            firings = tasks.reminders_due(list(by_id.values()), after=last, until=now)
            for firing in firings:
                task = by_id[firing.task_id]
                await self._emit(
                    session,
                    "reminder.due",
                    reminder_due(task, firing),
                    aggregate_id=task.task_id,
                    org_path=task.org_path,
                    principal=None,
                    now=now,
                )
            return len(firings)
