"""Activities' use cases: each runs in one transaction, applies the domain rules, writes its
events to the outbox in that same transaction, and checks the caller's permission and scope."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import (ActivitiesDailyReportState, ActivitiesFollowUpLogged,
                                                       ActivitiesReminderDue, ActivitiesTaskState,
                                                       ActivitiesVisitReading)
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.db import SessionFactory
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.directory import directory_units, directory_users, get_user
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page, keyset_page
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain import check_ins, daily_reports, follow_ups, tasks, unit_policies
from salesgrid_activities.models import (CustomerLocation, DailyReportRow, FollowUpRow, ReportCommentRow,
                                         ReportDayMark, SchedulerMark, TaskRow, UnitPolicyRow, VisitRow)

log = logging.getLogger(__name__)

EVENT_PREFIX = "salesgrid.activities."
SYSTEM_ACTOR = system_actor("activities")  # the actor of the service's own scheduler runs
# Roles whose holders owe a daily report; the scheduler records missing reports only for them.
REPORTING_ROLES = frozenset({"rep"})
MAX_CALENDAR_WINDOW = timedelta(days=62)


def parse_date(value: str, field: str) -> date | None:
    """An optional ISO date (YYYY-MM-DD) from the wire; empty means none."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("must be a date YYYY-MM-DD", field) from None


def _zone(name: str) -> ZoneInfo:
    try:
        return localtime.zone(name)
    except ValidationFailed:
        raise FailedPrecondition(f"time zone {name!r} is not known", "time_zone") from None


def visit_domain(row: VisitRow) -> check_ins.Visit:
    """The stored visit as the domain rules see it."""
    def fix(lat: float, lon: float, acc: float, at: datetime, photo: str | None) -> check_ins.LocationFix:
        return check_ins.LocationFix(check_ins.GeoPoint(lat, lon), acc, at, photo)

    def assessment(distance: float | None, flags: list[str]) -> check_ins.LocationAssessment:
        return check_ins.LocationAssessment(distance, tuple(check_ins.FlagReason(f) for f in flags))

    closed = row.out_device_time is not None
    return check_ins.Visit(
        visit_id=row.id, rep_id=row.owner_id, customer_id=row.customer_id,
        check_in=fix(row.in_latitude, row.in_longitude, row.in_accuracy_m, row.in_device_time, row.in_photo_ref),
        check_in_received_at=row.in_received_at,
        check_in_assessment=assessment(row.in_distance_m, row.in_flags),
        check_out=fix(row.out_latitude, row.out_longitude, row.out_accuracy_m, row.out_device_time,  # type: ignore[arg-type]
                      row.out_photo_ref) if closed else None,
        check_out_received_at=row.out_received_at,
        check_out_assessment=assessment(row.out_distance_m, row.out_flags) if closed else None,
    )


def task_domain(row: TaskRow) -> tasks.Task:
    return tasks.Task(
        task_id=row.id, creator_id=row.creator_id, assignee_id=row.owner_id, title=row.title,
        description=row.description, start_at=row.start_at, end_at=row.end_at, due_at=row.due_at,
        reminder_minutes=tuple(row.reminder_minutes), private=row.private, status=tasks.TaskStatus(row.status),
        created_at=row.created_at, accepted_at=row.accepted_at, rejected_at=row.rejected_at,
        reject_reason=row.reject_reason, completed_at=row.completed_at)


def report_domain(row: DailyReportRow) -> daily_reports.DailyReport:
    content = None if row.summary is None else daily_reports.ReportContent(
        row.summary, tuple(row.visit_ids), row.tomorrow_plan, row.problems)
    return daily_reports.DailyReport(
        report_id=row.id, rep_id=row.owner_id, report_date=row.report_date, time_zone=row.time_zone,
        status=daily_reports.ReportStatus(row.status), content=content, submitted_at=row.submitted_at,
        recorded_at=row.recorded_at, falsified=row.falsified, falsified_by=row.falsified_by,
        falsified_comment=row.falsified_comment, falsified_at=row.falsified_at)


class ActivitiesUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock,
                 check_in_policy: check_ins.CheckInPolicy = check_ins.CheckInPolicy(),
                 report_policy: daily_reports.ReportPolicy = daily_reports.ReportPolicy()) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        # Company-wide defaults; units override them (unit_policies).
        self.check_in_policy = check_in_policy
        self.report_policy = report_policy

    async def _emit(self, session: AsyncSession, verb: str, payload: Message, *, aggregate_id: str,
                    org_path: str, principal: Principal | None, now: datetime) -> None:
        meta = EventMeta(aggregate_id=aggregate_id, org_path=org_path,
                         actor_id=principal.subject_id if principal else SYSTEM_ACTOR,
                         actor_ip=principal.client_ip if principal else "")
        await self.outbox.record(session, EVENT_PREFIX + verb, payload, meta, now)

    @staticmethod
    async def _my_zone(session: AsyncSession, principal: Principal) -> ZoneInfo | None:
        me = await get_user(session, principal.subject_id)
        if me is None:
            return None
        # his unit's zone (his branch's calendar), else the zone copied onto him; an unknown one refuses
        return _zone(await localtime.unit_zone(session, me.unit_id) or me.time_zone)

    async def _policies(self, session: AsyncSession, org_path: str) -> unit_policies.Policies:
        """The policies in force at org_path: defaults overridden by the units on the path."""
        rows = (await session.execute(select(UnitPolicyRow, directory_units.c.path).join(
            directory_units, directory_units.c.unit_id == UnitPolicyRow.unit_id))).all()
        return unit_policies.effective_policies(org_path, [(path, _overrides(row)) for row, path in rows],
                                                self.check_in_policy, self.report_policy)

    # --- per-unit policies ---------------------------------------------------------------------

    async def _policy_unit(self, session: AsyncSession, principal: Principal, unit_id: str,
                           permission: str) -> str:
        """The unit's path, once the caller may act on it."""
        principal.require(permission)
        path = await session.scalar(select(directory_units.c.path).where(directory_units.c.unit_id == unit_id))
        if path is None or not principal.can_see(permission, "", path):
            raise NotFound(f"org unit {unit_id} not found", "unit_id")
        return path

    async def set_unit_policy(self, principal: Principal, unit_id: str, values: dict[str, Any]
                              ) -> tuple[UnitPolicyRow | None, unit_policies.Policies]:
        principal.require("org_units:update")
        now = self.clock()
        overrides = unit_policies.validate_overrides(**values)
        async with self.sessions() as session, session.begin():
            path = await self._policy_unit(session, principal, unit_id, "org_units:update")
            row = await session.get(UnitPolicyRow, unit_id)
            if overrides.empty:
                if row is not None:
                    await session.delete(row)
                row = None
            else:
                if row is None:
                    row = UnitPolicyRow(unit_id=unit_id, version=0)
                    session.add(row)
                row.check_in_radius_m = overrides.check_in_radius_m
                deadline = overrides.report_deadline
                row.report_deadline = deadline.strftime("%H:%M") if deadline else None
                row.late_fine, row.missing_fine = overrides.late_fine, overrides.missing_fine
                row.falsified_fine, row.currency = overrides.falsified_fine, overrides.currency
                row.updated_by, row.updated_at, row.version = principal.subject_id, now, row.version + 1
            await session.flush()
            return row, await self._policies(session, path)

    async def get_unit_policy(self, principal: Principal, unit_id: str
                              ) -> tuple[UnitPolicyRow | None, unit_policies.Policies]:
        async with self.sessions() as session:
            path = await self._policy_unit(session, principal, unit_id, "org_units:read")
            return await session.get(UnitPolicyRow, unit_id), await self._policies(session, path)

    # --- follow-ups ----------------------------------------------------------------------------

    async def log_follow_up(self, principal: Principal, *, kind: str, occurred_at: datetime | None, notes: str,
                            customer_id: str, contact_id: str, opportunity_id: str, lead_id: str,
                            next_follow_up_on: str) -> FollowUpRow:
        principal.require("activities:create")
        now = self.clock()
        next_on = parse_date(next_follow_up_on, "next_follow_up_on")
        async with self.sessions() as session, session.begin():
            # The local date matters only for next_follow_up_on; a user not yet replicated counts as UTC.
            zone = await self._my_zone(session, principal) or localtime.UTC_CALENDAR.tz
            customer_id = await survivor_of(session, customer_id)  # a merged customer's id: its survivor
            checked = follow_ups.validate_follow_up(
                kind=kind, occurred_at=occurred_at, notes=notes,  # type: ignore[arg-type]
                customer_id=customer_id or None, contact_id=contact_id or None,
                opportunity_id=opportunity_id or None, lead_id=lead_id or None, next_follow_up_on=next_on,
                tz=zone, now=now)
            row = FollowUpRow(id=new_id(), owner_id=principal.subject_id, org_path=principal.org_path,
                              kind=checked.kind.value, occurred_at=checked.occurred_at, notes=checked.notes,
                              customer_id=checked.customer_id, contact_id=checked.contact_id,
                              opportunity_id=checked.opportunity_id, lead_id=checked.lead_id,
                              next_follow_up_on=checked.next_follow_up_on, created_at=now, version=1)
            session.add(row)
            await self._emit(session, "follow_up.logged", ActivitiesFollowUpLogged(
                follow_up_id=row.id, owner_id=row.owner_id, org_path=row.org_path, kind=row.kind,
                occurred_at=to_timestamp(row.occurred_at), customer_id=row.customer_id or "",
                contact_id=row.contact_id or "", opportunity_id=row.opportunity_id or "", lead_id=row.lead_id or "",
                next_follow_up_on=next_on.isoformat() if next_on else ""),
                aggregate_id=row.id, org_path=row.org_path, principal=principal, now=now)
            return row

    async def list_follow_ups(self, principal: Principal, *, customer_id: str, lead_id: str, owner_id: str,
                              page_size: int, page_token: str) -> Page:
        query = select(FollowUpRow).where(
            scope_filter(principal, "activities:read", FollowUpRow.owner_id, FollowUpRow.org_path))
        async with self.sessions() as session:
            customer_id = await survivor_of(session, customer_id, writing=False)  # a merged id lists the survivor's
            for column, value in ((FollowUpRow.customer_id, customer_id), (FollowUpRow.lead_id, lead_id),
                                  (FollowUpRow.owner_id, owner_id)):
                if value:
                    query = query.where(column == value)
            return await keyset_page(session, query, FollowUpRow.id, page_size, page_token)

    # --- check-ins -----------------------------------------------------------------------------

    def _fix(self, reading: dict[str, Any], now: datetime) -> check_ins.LocationFix:
        return check_ins.validate_fix(now=now, policy=self.check_in_policy, **reading)

    @staticmethod
    async def _customer_point(session: AsyncSession, customer_id: str) -> check_ins.GeoPoint | None:
        location = await session.get(CustomerLocation, customer_id)
        return None if location is None else check_ins.GeoPoint(location.latitude, location.longitude)

    async def check_in(self, principal: Principal, *, customer_id: str, reading: dict[str, Any]) -> VisitRow:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            customer_id = await survivor_of(session, customer_id.strip())  # a merged id: the survivor
            open_rows = (await session.scalars(select(VisitRow).where(
                VisitRow.owner_id == principal.subject_id, VisitRow.open.is_(True)))).all()
            policy = (await self._policies(session, principal.org_path)).check_in
            visit = check_ins.check_in(
                visit_id=new_id(), rep_id=principal.subject_id, customer_id=customer_id, fix=fix,
                customer_location=await self._customer_point(session, customer_id.strip()),
                open_visits=[visit_domain(r) for r in open_rows], now=now, policy=policy)
            assessment = visit.check_in_assessment
            row = VisitRow(
                id=visit.visit_id, owner_id=visit.rep_id, org_path=principal.org_path, customer_id=visit.customer_id,
                open=True, flagged=visit.flagged, in_latitude=fix.point.latitude, in_longitude=fix.point.longitude,
                in_accuracy_m=fix.accuracy_m, in_device_time=fix.device_time, in_photo_ref=fix.photo_ref,
                in_received_at=now, in_distance_m=assessment.distance_m,
                in_flags=[r.value for r in assessment.reasons], out_flags=[], version=1)
            session.add(row)
            payload = _visit_event(row, fix, assessment, None)
            await self._emit(session, "check_in.recorded", payload, aggregate_id=row.id, org_path=row.org_path,
                             principal=principal, now=now)
            if assessment.flagged:
                await self._emit(session, "check_in.flagged", payload, aggregate_id=row.id,
                                 org_path=row.org_path, principal=principal, now=now)
            return row

    async def check_out(self, principal: Principal, *, visit_id: str, reading: dict[str, Any]) -> VisitRow:
        principal.require("activities:create")
        now = self.clock()
        fix = self._fix(reading, now)
        async with self.sessions() as session, session.begin():
            row = await session.get(VisitRow, visit_id)
            if row is None or not principal.can_see("activities:read", row.owner_id, row.org_path):
                raise NotFound(f"check-in {visit_id} not found", "visit_id")
            visit = check_ins.check_out(
                visit=visit_domain(row), rep_id=principal.subject_id, fix=fix,
                customer_location=await self._customer_point(session, row.customer_id), now=now,
                policy=(await self._policies(session, row.org_path)).check_in)
            assessment = visit.check_out_assessment
            assert assessment is not None
            row.open = False
            row.flagged = visit.flagged
            row.out_latitude, row.out_longitude = fix.point.latitude, fix.point.longitude
            row.out_accuracy_m, row.out_device_time, row.out_photo_ref = fix.accuracy_m, fix.device_time, fix.photo_ref
            row.out_received_at = now
            row.out_distance_m = assessment.distance_m
            row.out_flags = [r.value for r in assessment.reasons]
            row.version += 1
            await self._emit(session, "check_out.recorded", _visit_event(row, fix, assessment, visit.duration),
                             aggregate_id=row.id, org_path=row.org_path, principal=principal, now=now)
            return row

    async def list_visits(self, principal: Principal, *, customer_id: str, owner_id: str, flagged_only: bool,
                          page_size: int, page_token: str) -> Page:
        query = select(VisitRow).where(scope_filter(principal, "activities:read", VisitRow.owner_id, VisitRow.org_path))
        if owner_id:
            query = query.where(VisitRow.owner_id == owner_id)
        if flagged_only:
            query = query.where(VisitRow.flagged.is_(True))
        async with self.sessions() as session:
            if customer_id:  # a merged id lists the survivor's
                query = query.where(VisitRow.customer_id == await survivor_of(session, customer_id, writing=False))
            return await keyset_page(session, query, VisitRow.id, page_size, page_token)

    # --- tasks ---------------------------------------------------------------------------------

    async def create_task(self, principal: Principal, *, assignee_id: str, title: str, description: str,
                          start_at: datetime | None, end_at: datetime | None, due_at: datetime | None,
                          reminder_minutes: list[int], private: bool) -> TaskRow:
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
                task_id=new_id(), creator_id=principal.subject_id, assignee_id=assignee_id, title=title,
                description=description or None, start_at=start_at, end_at=end_at, due_at=due_at,
                reminder_minutes=reminder_minutes, private=private, assignee_in_scope=in_scope, now=now)
            row = TaskRow(id=task.task_id, creator_id=task.creator_id, owner_id=task.assignee_id, org_path=org_path,
                          title=task.title, description=task.description, start_at=task.start_at,
                          end_at=task.end_at, due_at=task.due_at, reminder_minutes=list(task.reminder_minutes),
                          private=task.private, status=task.status.value, created_at=now,
                          accepted_at=task.accepted_at, version=1)
            session.add(row)
            await self._task_event(session, "task.created", row, principal, now)
            return row

    async def _task_event(self, session: AsyncSession, verb: str, row: TaskRow, principal: Principal | None,
                          now: datetime) -> None:
        await self._emit(session, verb, ActivitiesTaskState(
            task_id=row.id, creator_id=row.creator_id, assignee_id=row.owner_id, org_path=row.org_path,
            title=row.title, status=row.status, due_at=to_timestamp(row.due_at), reject_reason=row.reject_reason or ""),
            aggregate_id=row.id, org_path=row.org_path, principal=principal, now=now)

    async def _transition(self, principal: Principal, task_id: str, verb: str, **kwargs: Any) -> TaskRow:
        principal.require("tasks:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.get(TaskRow, task_id)
            if row is None or not self._task_visible(principal, row):
                raise NotFound(f"task {task_id} not found", "id")
            rule = {"accepted": tasks.accept_task, "rejected": tasks.reject_task, "completed": tasks.complete_task}
            task = rule[verb](task_domain(row), actor_id=principal.subject_id, now=now, **kwargs)
            row.status = task.status.value
            row.accepted_at, row.rejected_at, row.completed_at = task.accepted_at, task.rejected_at, task.completed_at
            row.reject_reason = task.reject_reason
            row.version += 1
            await self._task_event(session, f"task.{verb}", row, principal, now)
            return row

    async def accept_task(self, principal: Principal, task_id: str) -> TaskRow:
        return await self._transition(principal, task_id, "accepted")

    async def reject_task(self, principal: Principal, task_id: str, reason: str) -> TaskRow:
        return await self._transition(principal, task_id, "rejected", reason=reason)

    async def complete_task(self, principal: Principal, task_id: str) -> TaskRow:
        return await self._transition(principal, task_id, "completed")

    @staticmethod
    def _task_visible(principal: Principal, row: TaskRow) -> bool:
        return row.creator_id == principal.subject_id or principal.can_see("tasks:read", row.owner_id, row.org_path)

    async def list_tasks(self, principal: Principal, *, assignee_id: str, status: str, overdue_only: bool,
                         page_size: int, page_token: str) -> Page:
        # Creators keep seeing what they handed out, whatever their read scope.
        query = select(TaskRow).where(scope_filter(principal, "tasks:read", TaskRow.owner_id, TaskRow.org_path,
                                                   TaskRow.creator_id == principal.subject_id))
        if assignee_id:
            query = query.where(TaskRow.owner_id == assignee_id)
        if status:
            if status not in tasks.TaskStatus.__members__.values():
                raise ValidationFailed(f"must be one of {', '.join(s.value for s in tasks.TaskStatus)}", "status")
            query = query.where(TaskRow.status == status)
        if overdue_only:
            query = query.where(TaskRow.due_at < self.clock(),
                                TaskRow.status.in_([s.value for s in tasks.OPEN_STATUSES]))
        async with self.sessions() as session:
            return await keyset_page(session, query, TaskRow.id, page_size, page_token)

    def is_overdue(self, row: TaskRow) -> bool:
        return tasks.is_overdue(task_domain(row), self.clock())

    async def calendar(self, principal: Principal, *, user_id: str, unit_id: str, window_start: datetime | None,
                       window_end: datetime | None) -> list[tasks.CalendarItem]:
        """One person's or one team's entries in the window, as the caller may see them."""
        principal.require("tasks:read")
        if window_start is None or window_end is None:
            raise ValidationFailed("is required", "window_start" if window_start is None else "window_end")
        if window_end - window_start > MAX_CALENDAR_WINDOW:
            raise ValidationFailed(f"must be at most {MAX_CALENDAR_WINDOW.days} days after window_start",
                                   "window_end")
        if user_id and unit_id:
            raise ValidationFailed("give user_id or unit_id, not both", "unit_id")
        anchor = func.coalesce(TaskRow.start_at, TaskRow.due_at)
        # Coarse overlap in SQL (the domain decides exactly): starts before the end, ends after the start.
        query = select(TaskRow).where(anchor < window_end,
                                      func.coalesce(TaskRow.end_at, TaskRow.start_at, TaskRow.due_at) >= window_start)
        async with self.sessions() as session:
            if unit_id:
                path = await session.scalar(select(directory_units.c.path).where(
                    directory_units.c.unit_id == unit_id))
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
        paths = {row.owner_id: row.org_path for row in rows}
        return tasks.calendar_view(
            [task_domain(r) for r in rows], viewer_id=principal.subject_id,
            can_view_user=lambda owner: principal.can_see("tasks:read", owner, paths[owner]),
            window_start=window_start, window_end=window_end)

    # --- reminders and overdue tasks (scheduler) -------------------------------------------------

    async def _advance_mark(self, session: AsyncSession, name: str, now: datetime) -> datetime | None:
        """The previous mark, moved to now in this transaction; None on first sight (nothing is
        fired for times before the service knew them) or when another replica moved it first."""
        last = await session.scalar(select(SchedulerMark.last_run_at).where(SchedulerMark.name == name))
        if last is None:
            session.add(SchedulerMark(name=name, last_run_at=now))
            return None
        if last >= now:
            return None
        moved = await session.execute(update(SchedulerMark).where(
            SchedulerMark.name == name, SchedulerMark.last_run_at == last).values(last_run_at=now))
        return last if moved.rowcount == 1 else None

    async def fire_due_reminders(self) -> int:
        """reminder.due for each reminder whose time fell in (last run, now]; exactly once, since
        the mark moves in the same transaction as the events."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            last = await self._advance_mark(session, "reminders", now)
            if last is None:
                return 0
            anchor = func.coalesce(TaskRow.start_at, TaskRow.due_at)
            rows = {r.id: r for r in (await session.scalars(select(TaskRow).where(
                TaskRow.status.in_([s.value for s in tasks.OPEN_STATUSES]), anchor > last,
                anchor <= now + timedelta(minutes=tasks.MAX_REMINDER_MINUTES)))).all()}
            firings = tasks.reminders_due([task_domain(r) for r in rows.values()], after=last, until=now)
            for firing in firings:
                row = rows[firing.task_id]
                task = task_domain(row)
                await self._emit(session, "reminder.due", ActivitiesReminderDue(
                    task_id=row.id, assignee_id=row.owner_id, org_path=row.org_path, title=row.title,
                    minutes_before=firing.minutes_before, fire_at=to_timestamp(firing.fire_at),
                    anchor_at=to_timestamp(task.reminder_anchor)),
                    aggregate_id=row.id, org_path=row.org_path, principal=None, now=now)
            return len(firings)

    async def fire_overdue_tasks(self) -> int:
        """task.overdue once for each open task whose due time fell in (last run, now]."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            last = await self._advance_mark(session, "overdue_tasks", now)
            if last is None:
                return 0
            rows = (await session.scalars(select(TaskRow).where(
                TaskRow.status.in_([s.value for s in tasks.OPEN_STATUSES]), TaskRow.due_at > last,
                TaskRow.due_at < now).order_by(TaskRow.due_at, TaskRow.id))).all()
            overdue = [r for r in rows if tasks.is_overdue(task_domain(r), now)]
            for row in overdue:
                await self._task_event(session, "task.overdue", row, None, now)
            return len(overdue)

    # --- daily reports -------------------------------------------------------------------------

    async def submit_daily_report(self, principal: Principal, *, summary: str, visit_ids: list[str],
                                  tomorrow_plan: str, problems: str) -> DailyReportRow:
        principal.require("daily_reports:create")
        now = self.clock()
        content = daily_reports.validate_report_content(
            summary=summary, visit_ids=visit_ids, tomorrow_plan=tomorrow_plan or None, problems=problems or None)
        async with self.sessions() as session, session.begin():
            # The deadline is local to the rep's branch: without his directory entry there is none to judge by.
            zone = await self._my_zone(session, principal)
            if zone is None:
                raise FailedPrecondition("your user is not known to activities yet; try again shortly")
            report_date = daily_reports.local_report_date(now, zone)
            existing = await session.scalar(select(DailyReportRow).where(
                DailyReportRow.owner_id == principal.subject_id, DailyReportRow.report_date == report_date))
            report = daily_reports.submit_report(
                report_id=new_id(), rep_id=principal.subject_id, report_date=report_date, content=content,
                submitted_at=now, tz=zone, existing=report_domain(existing) if existing else None,
                policy=(await self._policies(session, principal.org_path)).report)
            row = DailyReportRow(
                id=report.report_id, owner_id=report.rep_id, org_path=principal.org_path,
                report_date=report.report_date, time_zone=report.time_zone, status=report.status.value,
                summary=content.summary, visit_ids=list(content.visit_ids), tomorrow_plan=content.tomorrow_plan,
                problems=content.problems, submitted_at=now, recorded_at=now, falsified=False, version=1)
            session.add(row)
            await self._report_event(session, "daily_report.submitted", row, principal, now)
            if report.status is daily_reports.ReportStatus.LATE:
                await self._report_event(session, "daily_report.late", row, principal, now)
            try:
                await session.flush()
            except IntegrityError:  # a concurrent submission for the same day won
                raise Conflict("a report for this date already exists", "report_date") from None
            return row

    async def _report_event(self, session: AsyncSession, verb: str, row: DailyReportRow,
                            principal: Principal | None, now: datetime) -> None:
        await self._emit(session, verb, ActivitiesDailyReportState(
            report_id=row.id, owner_id=row.owner_id, org_path=row.org_path,
            report_date=row.report_date.isoformat(), time_zone=row.time_zone, status=row.status,
            falsified=row.falsified, falsified_by=row.falsified_by or ""),
            aggregate_id=row.id, org_path=row.org_path, principal=principal, now=now)

    async def falsify_daily_report(self, principal: Principal, report_id: str, comment: str) -> DailyReportRow:
        principal.require("daily_reports:review")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.get(DailyReportRow, report_id)
            if row is None or not principal.can_see("daily_reports:read", row.owner_id, row.org_path):
                raise NotFound(f"daily report {report_id} not found", "id")
            in_scope = principal.can_see("daily_reports:review", row.owner_id, row.org_path)
            report = daily_reports.mark_falsified(report_domain(row), manager_id=principal.subject_id,
                                                  comment=comment, rep_in_scope=in_scope, now=now)
            row.falsified, row.falsified_by = True, report.falsified_by
            row.falsified_comment, row.falsified_at = report.falsified_comment, report.falsified_at
            row.version += 1
            await self._report_event(session, "daily_report.falsified", row, principal, now)
            return row

    async def _commentable_report(self, session: AsyncSession, principal: Principal, report_id: str
                                  ) -> DailyReportRow:
        row = await session.get(DailyReportRow, report_id)
        if row is None or not principal.can_see("daily_reports:read", row.owner_id, row.org_path):
            raise NotFound(f"daily report {report_id} not found", "report_id")
        return row

    async def add_report_comment(self, principal: Principal, report_id: str, body: str) -> ReportCommentRow:
        principal.require("daily_reports:read")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._commentable_report(session, principal, report_id)
            text = daily_reports.check_comment(
                report_domain(row), author_id=principal.subject_id, body=body,
                may_review=principal.can_see("daily_reports:review", row.owner_id, row.org_path))
            comment = ReportCommentRow(id=new_id(), report_id=row.id, author_id=principal.subject_id, body=text,
                                       created_at=now)
            session.add(comment)
            return comment

    async def list_report_comments(self, principal: Principal, report_id: str) -> list[ReportCommentRow]:
        principal.require("daily_reports:read")
        async with self.sessions() as session:
            await self._commentable_report(session, principal, report_id)
            return list((await session.scalars(select(ReportCommentRow).where(
                ReportCommentRow.report_id == report_id).order_by(ReportCommentRow.id))).all())

    def _reports_query(self, principal: Principal, from_date: str, to_date: str) -> Select[Any]:
        start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
        if start and end and end < start:
            raise ValidationFailed("must not be before from_date", "to_date")
        query = select(DailyReportRow).where(
            scope_filter(principal, "daily_reports:read", DailyReportRow.owner_id, DailyReportRow.org_path))
        if start:
            query = query.where(DailyReportRow.report_date >= start)
        if end:
            query = query.where(DailyReportRow.report_date <= end)
        return query

    async def list_daily_reports(self, principal: Principal, *, owner_id: str, from_date: str, to_date: str,
                                 page_size: int, page_token: str) -> Page:
        query = self._reports_query(principal, from_date, to_date)
        if owner_id:
            query = query.where(DailyReportRow.owner_id == owner_id)
        async with self.sessions() as session:
            return await keyset_page(session, query, DailyReportRow.id, page_size, page_token)

    async def _reports_in_scope(self, principal: Principal, from_date: str, to_date: str
                                ) -> list[daily_reports.DailyReport]:
        query = self._reports_query(principal, from_date, to_date)
        async with self.sessions() as session:
            return [report_domain(r) for r in (await session.scalars(query)).all()]

    async def compliance(self, principal: Principal, from_date: str, to_date: str) -> daily_reports.TeamCompliance:
        return daily_reports.compliance_summary(await self._reports_in_scope(principal, from_date, to_date))

    async def policy_ledger(self, principal: Principal, from_date: str, to_date: str) -> list[daily_reports.RepLedger]:
        """Each rep's amounts follow the policy of the unit of his latest report in the period."""
        query = self._reports_query(principal, from_date, to_date)
        async with self.sessions() as session:
            rows = (await session.scalars(query.order_by(DailyReportRow.report_date))).all()
            by_rep: dict[str, list[DailyReportRow]] = {}
            for row in rows:
                by_rep.setdefault(row.owner_id, []).append(row)
            ledgers: list[daily_reports.RepLedger] = []
            for rep_rows in by_rep.values():
                policy = (await self._policies(session, rep_rows[-1].org_path)).report
                ledgers += daily_reports.policy_ledger([report_domain(r) for r in rep_rows], policy)
        return sorted(ledgers, key=lambda ledger: ledger.rep_id)

    # --- scheduler -----------------------------------------------------------------------------

    async def close_report_days(self) -> int:
        """Record missing reports for every local day that has ended, one time zone at a time.

        A time zone seen for the first time starts from the day before: nobody is fined for days
        before the service knew them. Returns how many missing records were written."""
        now = self.clock()
        async with self.sessions() as session:
            users = [u for u in (await session.execute(
                select(directory_users, directory_units.c.time_zone.label("unit_zone"))
                .outerjoin(directory_units, directory_units.c.unit_id == directory_users.c.unit_id)
                .where(directory_users.c.active.is_(True)))).all()
                if REPORTING_ROLES.intersection(u.roles.split(","))]
        by_zone: dict[str, list[Any]] = {}
        for user in users:
            # The branch's zone decides when its day ends; the user's own copy if the unit is not replicated yet.
            by_zone.setdefault(user.unit_zone or user.time_zone, []).append(user)
        written = 0
        for zone_name, reps in sorted(by_zone.items()):
            try:
                written += await self._close_zone(zone_name, reps, now)
            except FailedPrecondition:
                log.warning("skipping unknown time zone %s for daily reports", zone_name)
        return written

    async def _close_zone(self, zone_name: str, reps: list[Any], now: datetime) -> int:
        zone = _zone(zone_name)
        written = 0
        async with self.sessions() as session, session.begin():
            mark = await session.get(ReportDayMark, zone_name)
            if mark is None:
                session.add(ReportDayMark(time_zone=zone_name,
                                          last_closed_date=daily_reports.local_report_date(now, zone) - timedelta(days=1)))
                return 0
            days = daily_reports.dates_to_mark_missing(now, zone, mark.last_closed_date)
            rep_paths = {rep.user_id: rep.org_path for rep in reps}
            for day in days:
                filed = (await session.scalars(select(DailyReportRow.owner_id).where(
                    DailyReportRow.report_date == day, DailyReportRow.owner_id.in_(list(rep_paths))))).all()
                for rep_id in daily_reports.reps_missing_report(day, rep_paths, filed, self.report_policy):
                    report = daily_reports.missing_report(report_id=new_id(), rep_id=rep_id, report_date=day,
                                                          tz=zone, now=now)
                    row = DailyReportRow(id=report.report_id, owner_id=rep_id, org_path=rep_paths[rep_id],
                                         report_date=day, time_zone=zone_name, status=report.status.value,
                                         visit_ids=[], recorded_at=now, falsified=False, version=1)
                    session.add(row)
                    await self._report_event(session, "daily_report.missing", row, None, now)
                    written += 1
            if days:
                mark.last_closed_date = days[-1]
        return written


def _overrides(row: UnitPolicyRow) -> unit_policies.PolicyOverrides:
    return unit_policies.PolicyOverrides(
        check_in_radius_m=row.check_in_radius_m,
        report_deadline=time.fromisoformat(row.report_deadline) if row.report_deadline else None,
        late_fine=row.late_fine, missing_fine=row.missing_fine, falsified_fine=row.falsified_fine,
        currency=row.currency)


def _visit_event(row: VisitRow, fix: check_ins.LocationFix, assessment: check_ins.LocationAssessment,
                 duration: timedelta | None) -> ActivitiesVisitReading:
    return ActivitiesVisitReading(
        visit_id=row.id, owner_id=row.owner_id, org_path=row.org_path, customer_id=row.customer_id,
        latitude=fix.point.latitude, longitude=fix.point.longitude, accuracy_m=fix.accuracy_m,
        device_time=to_timestamp(fix.device_time), has_distance=assessment.distance_m is not None,
        distance_m=assessment.distance_m or 0.0, flags=[r.value for r in assessment.reasons],
        duration_seconds=int(duration.total_seconds()) if duration else 0)

