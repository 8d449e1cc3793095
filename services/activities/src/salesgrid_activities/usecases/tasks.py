"""Tasks use cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import get_user
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import tasks
from salesgrid_activities.stores import scheduler_marks
from salesgrid_activities.stores import tasks as task_store
from salesgrid_activities.stores.tasks import get_task, insert_task, save_task
from salesgrid_activities.task_events import task_state

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


class TasksMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: tasks."""

    async def create_task(
        self,
        principal: Principal,
        *,
        assignee_id: str,
        title: str,
        description: str,
        start_at: datetime | None,
        end_at: datetime | None,
        due_at: datetime | None,
        reminder_minutes: list[int],
        private: bool,
    ) -> tasks.Task:
        principal.require("tasks:create")
        now = self.clock()
        assignee_id = assignee_id.strip() or principal.subject_id
        async with self.sessions() as session, session.begin():
            org_path, in_scope = principal.org_path, True
            if assignee_id != principal.subject_id:
                assignee = await get_user(session, assignee_id)
                if assignee is None or not assignee.active:
                    raise NotFound(f"user {assignee_id} is not known here", "assignee_id")
                org_path = assignee.org_path
                in_scope = principal.can_see("tasks:create", assignee.user_id, assignee.org_path)
            task = tasks.create_task(
                task_id=new_id(),
                creator_id=principal.subject_id,
                assignee_id=assignee_id,
                title=title,
                description=description or None,
                start_at=start_at,
                end_at=end_at,
                due_at=due_at,
                reminder_minutes=reminder_minutes,
                private=private,
                assignee_in_scope=in_scope,
                now=now,
            )
            task = replace(task, org_path=org_path)
            insert_task(session, task)
            await self._task_event(session, "task.created", task, principal, now)
            return task

    async def _task_event(
        self, session: AsyncSession, verb: str, task: tasks.Task, principal: Principal | None, now: datetime
    ) -> None:
        await self._emit(
            session,
            verb,
            task_state(task),
            aggregate_id=task.task_id,
            org_path=task.org_path,
            principal=principal,
            now=now,
        )

    async def _transition(self, principal: Principal, task_id: str, verb: str, **kwargs: Any) -> tasks.Task:
        principal.require("tasks:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await get_task(session, task_id)
            if current is None or not self._task_visible(principal, current):
                raise NotFound(f"task {task_id} not found", "id")
            rule = {"accepted": tasks.accept_task, "rejected": tasks.reject_task, "completed": tasks.complete_task}
            task = await save_task(
                session, current, rule[verb](current, actor_id=principal.subject_id, now=now, **kwargs)
            )
            await self._task_event(session, f"task.{verb}", task, principal, now)
            return task

    async def accept_task(self, principal: Principal, task_id: str) -> tasks.Task:
        return await self._transition(principal, task_id, "accepted")

    async def reject_task(self, principal: Principal, task_id: str, reason: str) -> tasks.Task:
        return await self._transition(principal, task_id, "rejected", reason=reason)

    async def complete_task(self, principal: Principal, task_id: str) -> tasks.Task:
        return await self._transition(principal, task_id, "completed")

    @staticmethod
    def _task_visible(principal: Principal, task: tasks.Task) -> bool:
        return task.creator_id == principal.subject_id or principal.can_see(
            "tasks:read", task.assignee_id, task.org_path
        )

    async def list_tasks(
        self,
        principal: Principal,
        *,
        assignee_id: str,
        status: str,
        overdue_only: bool,
        page_size: int,
        page_token: str,
    ) -> Page[tasks.Task]:
        if status and status not in tasks.TaskStatus.__members__.values():
            raise ValidationFailed(f"must be one of {', '.join(s.value for s in tasks.TaskStatus)}", "status")
        async with self.sessions() as session:
            return await task_store.page_in_scope(
                session,
                principal,
                assignee_id=assignee_id,
                status=tasks.TaskStatus(status) if status else None,
                open_and_due_before=self.clock() if overdue_only else None,
                page_size=page_size,
                page_token=page_token,
            )

    def is_overdue(self, task: tasks.Task) -> bool:
        return tasks.is_overdue(task, self.clock())

    async def fire_overdue_tasks(self) -> int:
        """task.overdue once for each open task whose due time fell in (last run, now]."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            last = await scheduler_marks.advance(session, "overdue_tasks", now)
            if last is None:
                return 0
            due = await task_store.open_due_between(session, last, now)
            overdue = [task for task in due if tasks.is_overdue(task, now)]
            for task in overdue:
                await self._task_event(session, "task.overdue", task, None, now)
            return len(overdue)
