"""Calendar use cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import get_user
from salesgrid_common.directory_tables import directory_units
from salesgrid_common.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_activities.domain import tasks
from salesgrid_activities.stores import scheduler_marks
from salesgrid_activities.stores import tasks as task_store
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
        async with self.sessions() as session:
            if unit_id:
                path = await session.scalar(select(directory_units.c.path).where(directory_units.c.unit_id == unit_id))
                if path is None:
                    raise NotFound(f"org unit {unit_id} not found", "unit_id")
                found = await task_store.in_window(session, window_start, window_end, unit_path=path)
            else:
                user_id = user_id or principal.subject_id
                if user_id != principal.subject_id:
                    user = await get_user(session, user_id)
                    if user is None:
                        raise NotFound(f"user {user_id} is not known here", "user_id")
                    if not principal.can_see("tasks:read", user.user_id, user.org_path):
                        raise PermissionDenied("this user's calendar is outside your data scope")
                found = await task_store.in_window(session, window_start, window_end, owner_id=user_id)
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
            last = await scheduler_marks.advance(session, "reminders", now)
            if last is None:
                return 0
            until = now + timedelta(minutes=tasks.MAX_REMINDER_MINUTES)
            by_id = {task.task_id: task for task in await task_store.open_starting_between(session, last, until)}
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
