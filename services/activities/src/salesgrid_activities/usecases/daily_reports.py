"""Daily reports use cases."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesDailyReportState
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.directory import directory_units, directory_users
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page, keyset_page
from salesgrid_activities.domain import daily_reports
from salesgrid_activities.models import DailyReportRow, ReportCommentRow, ReportDayMark

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase, _zone, parse_date


log = logging.getLogger(__name__)

# Roles whose holders owe a daily report; the scheduler records missing reports only for them.
REPORTING_ROLES = frozenset({"rep"})


def report_domain(row: DailyReportRow) -> daily_reports.DailyReport:
    content = (
        None
        if row.summary is None
        else daily_reports.ReportContent(row.summary, tuple(row.visit_ids), row.tomorrow_plan, row.problems)
    )
    return daily_reports.DailyReport(
        report_id=row.id,
        rep_id=row.owner_id,
        report_date=row.report_date,
        time_zone=row.time_zone,
        status=daily_reports.ReportStatus(row.status),
        content=content,
        submitted_at=row.submitted_at,
        recorded_at=row.recorded_at,
        falsified=row.falsified,
        falsified_by=row.falsified_by,
        falsified_comment=row.falsified_comment,
        falsified_at=row.falsified_at,
    )


class DailyReportsMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: daily reports."""

    async def submit_daily_report(
        self, principal: Principal, *, summary: str, visit_ids: list[str], tomorrow_plan: str, problems: str
    ) -> DailyReportRow:
        principal.require("daily_reports:create")
        now = self.clock()
        content = daily_reports.validate_report_content(
            summary=summary, visit_ids=visit_ids, tomorrow_plan=tomorrow_plan or None, problems=problems or None
        )
        async with self.sessions() as session, session.begin():
            # The deadline is local to the rep's branch: without his directory entry there is none to judge by.
            zone = await self._my_zone(session, principal)
            if zone is None:
                raise FailedPrecondition("your user is not known to activities yet; try again shortly")
            report_date = daily_reports.local_report_date(now, zone)
            existing = await session.scalar(
                select(DailyReportRow).where(
                    DailyReportRow.owner_id == principal.subject_id, DailyReportRow.report_date == report_date
                )
            )
            report = daily_reports.submit_report(
                report_id=new_id(),
                rep_id=principal.subject_id,
                report_date=report_date,
                content=content,
                submitted_at=now,
                tz=zone,
                existing=report_domain(existing) if existing else None,
                policy=(await self._policies(session, principal.org_path)).report,
            )
            row = DailyReportRow(
                id=report.report_id,
                owner_id=report.rep_id,
                org_path=principal.org_path,
                report_date=report.report_date,
                time_zone=report.time_zone,
                status=report.status.value,
                summary=content.summary,
                visit_ids=list(content.visit_ids),
                tomorrow_plan=content.tomorrow_plan,
                problems=content.problems,
                submitted_at=now,
                recorded_at=now,
                falsified=False,
                version=1,
            )
            session.add(row)
            await self._report_event(session, "daily_report.submitted", row, principal, now)
            if report.status is daily_reports.ReportStatus.LATE:
                await self._report_event(session, "daily_report.late", row, principal, now)
            try:
                await session.flush()
            except IntegrityError:  # a concurrent submission for the same day won
                raise Conflict("a report for this date already exists", "report_date") from None
            return row

    async def _report_event(
        self, session: AsyncSession, verb: str, row: DailyReportRow, principal: Principal | None, now: datetime
    ) -> None:
        await self._emit(
            session,
            verb,
            ActivitiesDailyReportState(
                report_id=row.id,
                owner_id=row.owner_id,
                org_path=row.org_path,
                report_date=row.report_date.isoformat(),
                time_zone=row.time_zone,
                status=row.status,
                falsified=row.falsified,
                falsified_by=row.falsified_by or "",
            ),
            aggregate_id=row.id,
            org_path=row.org_path,
            principal=principal,
            now=now,
        )

    async def falsify_daily_report(self, principal: Principal, report_id: str, comment: str) -> DailyReportRow:
        principal.require("daily_reports:review")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.get(DailyReportRow, report_id)
            if row is None or not principal.can_see("daily_reports:read", row.owner_id, row.org_path):
                raise NotFound(f"daily report {report_id} not found", "id")
            in_scope = principal.can_see("daily_reports:review", row.owner_id, row.org_path)
            report = daily_reports.mark_falsified(
                report_domain(row), manager_id=principal.subject_id, comment=comment, rep_in_scope=in_scope, now=now
            )
            row.falsified, row.falsified_by = True, report.falsified_by
            row.falsified_comment, row.falsified_at = report.falsified_comment, report.falsified_at
            row.version += 1
            await self._report_event(session, "daily_report.falsified", row, principal, now)
            return row

    async def _commentable_report(self, session: AsyncSession, principal: Principal, report_id: str) -> DailyReportRow:
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
                report_domain(row),
                author_id=principal.subject_id,
                body=body,
                may_review=principal.can_see("daily_reports:review", row.owner_id, row.org_path),
            )
            comment = ReportCommentRow(
                id=new_id(), report_id=row.id, author_id=principal.subject_id, body=text, created_at=now
            )
            session.add(comment)
            return comment

    async def list_report_comments(self, principal: Principal, report_id: str) -> list[ReportCommentRow]:
        principal.require("daily_reports:read")
        async with self.sessions() as session:
            await self._commentable_report(session, principal, report_id)
            return list(
                (
                    await session.scalars(
                        select(ReportCommentRow)
                        .where(ReportCommentRow.report_id == report_id)
                        .order_by(ReportCommentRow.id)
                    )
                ).all()
            )

    def _reports_query(self, principal: Principal, from_date: str, to_date: str) -> Select[Any]:
        start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
        if start and end and end < start:
            raise ValidationFailed("must not be before from_date", "to_date")
        query = select(DailyReportRow).where(
            scope_filter(principal, "daily_reports:read", DailyReportRow.owner_id, DailyReportRow.org_path)
        )
        if start:
            query = query.where(DailyReportRow.report_date >= start)
        if end:
            query = query.where(DailyReportRow.report_date <= end)
        return query

    async def list_daily_reports(
        self, principal: Principal, *, owner_id: str, from_date: str, to_date: str, page_size: int, page_token: str
    ) -> Page:
        query = self._reports_query(principal, from_date, to_date)
        if owner_id:
            query = query.where(DailyReportRow.owner_id == owner_id)
        async with self.sessions() as session:
            return await keyset_page(session, query, DailyReportRow.id, page_size, page_token)

    async def _reports_in_scope(
        self, principal: Principal, from_date: str, to_date: str
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

    async def close_report_days(self) -> int:
        """Record missing reports for every local day that has ended, one time zone at a time.

        A time zone seen for the first time starts from the day before: nobody is fined for days
        before the service knew them. Returns how many missing records were written."""
        now = self.clock()
        async with self.sessions() as session:
            users = [
                u
                for u in (
                    await session.execute(
                        select(directory_users, directory_units.c.time_zone.label("unit_zone"))
                        .outerjoin(directory_units, directory_units.c.unit_id == directory_users.c.unit_id)
                        .where(directory_users.c.active.is_(True))
                    )
                ).all()
                if REPORTING_ROLES.intersection(u.roles.split(","))
            ]
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
                session.add(
                    ReportDayMark(
                        time_zone=zone_name,
                        last_closed_date=daily_reports.local_report_date(now, zone) - timedelta(days=1),
                    )
                )
                return 0
            days = daily_reports.dates_to_mark_missing(now, zone, mark.last_closed_date)
            rep_paths = {rep.user_id: rep.org_path for rep in reps}
            for day in days:
                filed = (
                    await session.scalars(
                        select(DailyReportRow.owner_id).where(
                            DailyReportRow.report_date == day, DailyReportRow.owner_id.in_(list(rep_paths))
                        )
                    )
                ).all()
                for rep_id in daily_reports.reps_missing_report(day, rep_paths, filed, self.report_policy):
                    report = daily_reports.missing_report(
                        report_id=new_id(), rep_id=rep_id, report_date=day, tz=zone, now=now
                    )
                    row = DailyReportRow(
                        id=report.report_id,
                        owner_id=rep_id,
                        org_path=rep_paths[rep_id],
                        report_date=day,
                        time_zone=zone_name,
                        status=report.status.value,
                        visit_ids=[],
                        recorded_at=now,
                        falsified=False,
                        version=1,
                    )
                    session.add(row)
                    await self._report_event(session, "daily_report.missing", row, None, now)
                    written += 1
            if days:
                mark.last_closed_date = days[-1]
        return written
