"""Activities' use cases: each runs in one transaction, applies the domain rules, writes its
events to the outbox in that same transaction, and checks the caller's permission and scope."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import (ActivitiesDailyReportState, ActivitiesFollowUpLogged,
                                                       ActivitiesTaskState, ActivitiesVisitReading)
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import directory_users, get_user
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_activities.domain import check_ins, daily_reports, follow_ups, tasks
from salesgrid_activities.models import (CustomerLocation, DailyReportRow, FollowUpRow, ReportDayMark, TaskRow,
                                         VisitRow)

log = logging.getLogger(__name__)

EVENT_PREFIX = "salesgrid.activities."
MAX_PAGE_SIZE = 200
# Roles whose holders owe a daily report; the scheduler records missing reports only for them.
REPORTING_ROLES = frozenset({"rep"})


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str


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
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise FailedPrecondition(f"time zone {name!r} is not known", "time_zone") from None


async def _page(session: AsyncSession, query: Select[Any], id_column: Any, page_size: int, token: str) -> Page:
    """Keyset paging, newest first, on a UUIDv7 key (never skips or repeats a row)."""
    size = min(page_size or 50, MAX_PAGE_SIZE)
    if page_size < 0:
        raise ValidationFailed("must not be negative", "page_size")
    if token:
        query = query.where(id_column < token)
    rows = list((await session.scalars(query.order_by(id_column.desc()).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].id if more else "")


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
        # Company-wide defaults; per-unit overrides are not wired yet.
        self.check_in_policy = check_in_policy
        self.report_policy = report_policy

    async def _emit(self, session: AsyncSession, verb: str, payload: Message, *, aggregate_id: str,
                    org_path: str, principal: Principal | None, now: datetime) -> None:
        meta = EventMeta(aggregate_id=aggregate_id, org_path=org_path,
                         actor_id=principal.subject_id if principal else "",
                         actor_ip=principal.client_ip if principal else "")
        await self.outbox.record(session, EVENT_PREFIX + verb, payload, meta, now)

    @staticmethod
    async def _my_zone(session: AsyncSession, principal: Principal) -> ZoneInfo | None:
        me = await get_user(session, principal.subject_id)
        return _zone(me.time_zone) if me is not None else None

    # --- follow-ups ----------------------------------------------------------------------------

    async def log_follow_up(self, principal: Principal, *, kind: str, occurred_at: datetime | None, notes: str,
                            customer_id: str, contact_id: str, opportunity_id: str, lead_id: str,
                            next_follow_up_on: str) -> FollowUpRow:
        principal.require("activities:create")
        now = self.clock()
        next_on = parse_date(next_follow_up_on, "next_follow_up_on")
        async with self.sessions() as session, session.begin():
            # The local date matters only for next_follow_up_on; a user not yet replicated counts as UTC.
            zone = await self._my_zone(session, principal) or ZoneInfo("UTC")
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
                occurred_at=timestamp(row.occurred_at), customer_id=row.customer_id or "",
                contact_id=row.contact_id or "", opportunity_id=row.opportunity_id or "", lead_id=row.lead_id or "",
                next_follow_up_on=next_on.isoformat() if next_on else ""),
                aggregate_id=row.id, org_path=row.org_path, principal=principal, now=now)
            return row

    async def list_follow_ups(self, principal: Principal, *, customer_id: str, lead_id: str, owner_id: str,
                              page_size: int, page_token: str) -> Page:
        query = select(FollowUpRow).where(
            scope_filter(principal, "activities:read", FollowUpRow.owner_id, FollowUpRow.org_path))
        for column, value in ((FollowUpRow.customer_id, customer_id), (FollowUpRow.lead_id, lead_id),
                              (FollowUpRow.owner_id, owner_id)):
            if value:
                query = query.where(column == value)
        async with self.sessions() as session:
            return await _page(session, query, FollowUpRow.id, page_size, page_token)

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
            open_rows = (await session.scalars(select(VisitRow).where(
                VisitRow.owner_id == principal.subject_id, VisitRow.open.is_(True)))).all()
            visit = check_ins.check_in(
                visit_id=new_id(), rep_id=principal.subject_id, customer_id=customer_id, fix=fix,
                customer_location=await self._customer_point(session, customer_id.strip()),
                open_visits=[visit_domain(r) for r in open_rows], now=now, policy=self.check_in_policy)
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
                policy=self.check_in_policy)
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
        if customer_id:
            query = query.where(VisitRow.customer_id == customer_id)
        if owner_id:
            query = query.where(VisitRow.owner_id == owner_id)
        if flagged_only:
            query = query.where(VisitRow.flagged.is_(True))
        async with self.sessions() as session:
            return await _page(session, query, VisitRow.id, page_size, page_token)

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

    async def _task_event(self, session: AsyncSession, verb: str, row: TaskRow, principal: Principal,
                          now: datetime) -> None:
        await self._emit(session, verb, ActivitiesTaskState(
            task_id=row.id, creator_id=row.creator_id, assignee_id=row.owner_id, org_path=row.org_path,
            title=row.title, status=row.status, due_at=timestamp(row.due_at), reject_reason=row.reject_reason or ""),
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
            return await _page(session, query, TaskRow.id, page_size, page_token)

    def is_overdue(self, row: TaskRow) -> bool:
        return tasks.is_overdue(task_domain(row), self.clock())

    # --- daily reports -------------------------------------------------------------------------

    async def submit_daily_report(self, principal: Principal, *, summary: str, visit_ids: list[str],
                                  tomorrow_plan: str, problems: str) -> DailyReportRow:
        principal.require("daily_reports:create")
        now = self.clock()
        content = daily_reports.validate_report_content(
            summary=summary, visit_ids=visit_ids, tomorrow_plan=tomorrow_plan or None, problems=problems or None)
        async with self.sessions() as session, session.begin():
            # The deadline is local to the rep: without his directory entry there is no deadline to judge by.
            zone = await self._my_zone(session, principal)
            if zone is None:
                raise FailedPrecondition("your user is not known to activities yet; try again shortly")
            report_date = daily_reports.local_report_date(now, zone)
            existing = await session.scalar(select(DailyReportRow).where(
                DailyReportRow.owner_id == principal.subject_id, DailyReportRow.report_date == report_date))
            report = daily_reports.submit_report(
                report_id=new_id(), rep_id=principal.subject_id, report_date=report_date, content=content,
                submitted_at=now, tz=zone, existing=report_domain(existing) if existing else None,
                policy=self.report_policy)
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
            return await _page(session, query, DailyReportRow.id, page_size, page_token)

    async def _reports_in_scope(self, principal: Principal, from_date: str, to_date: str
                                ) -> list[daily_reports.DailyReport]:
        query = self._reports_query(principal, from_date, to_date)
        async with self.sessions() as session:
            return [report_domain(r) for r in (await session.scalars(query)).all()]

    async def compliance(self, principal: Principal, from_date: str, to_date: str) -> daily_reports.TeamCompliance:
        return daily_reports.compliance_summary(await self._reports_in_scope(principal, from_date, to_date))

    async def policy_ledger(self, principal: Principal, from_date: str, to_date: str) -> list[daily_reports.RepLedger]:
        return daily_reports.policy_ledger(await self._reports_in_scope(principal, from_date, to_date),
                                           self.report_policy)

    # --- scheduler -----------------------------------------------------------------------------

    async def close_report_days(self) -> int:
        """Record missing reports for every local day that has ended, one time zone at a time.

        A time zone seen for the first time starts from the day before: nobody is fined for days
        before the service knew them. Returns how many missing records were written."""
        now = self.clock()
        async with self.sessions() as session:
            users = [u for u in (await session.execute(select(directory_users).where(
                directory_users.c.active.is_(True)))).all()
                if REPORTING_ROLES.intersection(u.roles.split(","))]
        by_zone: dict[str, list[Any]] = {}
        for user in users:
            by_zone.setdefault(user.time_zone, []).append(user)
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


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _visit_event(row: VisitRow, fix: check_ins.LocationFix, assessment: check_ins.LocationAssessment,
                 duration: timedelta | None) -> ActivitiesVisitReading:
    return ActivitiesVisitReading(
        visit_id=row.id, owner_id=row.owner_id, org_path=row.org_path, customer_id=row.customer_id,
        latitude=fix.point.latitude, longitude=fix.point.longitude, accuracy_m=fix.accuracy_m,
        device_time=timestamp(fix.device_time), has_distance=assessment.distance_m is not None,
        distance_m=assessment.distance_m or 0.0, flags=[r.value for r in assessment.reasons],
        duration_seconds=int(duration.total_seconds()) if duration else 0)

