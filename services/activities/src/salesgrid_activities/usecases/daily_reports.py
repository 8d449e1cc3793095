"""Daily reports use cases."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_common.errors import FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import daily_reports, report_comments, report_ledger
from salesgrid_activities.daily_report_events import report_state
from salesgrid_activities.domain.report_comments import ReportComment
from salesgrid_activities.stores import daily_reports as report_store
from salesgrid_activities.stores import scheduler_marks
from salesgrid_activities.stores.daily_reports import (
    add_comment,
    add_report,
    comments_of,
    get_report,
    insert_report,
    report_of_day,
    save_report,
)

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase, _zone, parse_date


log = logging.getLogger(__name__)

# Roles whose holders owe a daily report; the scheduler records missing reports only for them.
REPORTING_ROLES = frozenset({"rep"})


class DailyReportsMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: daily reports."""

    async def submit_daily_report(
        self, principal: Principal, *, summary: str, visit_ids: list[str], tomorrow_plan: str, problems: str
    ) -> daily_reports.DailyReport:
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
            report = daily_reports.submit_report(
                report_id=new_id(),
                rep_id=principal.subject_id,
                report_date=report_date,
                content=content,
                submitted_at=now,
                tz=zone,
                existing=await report_of_day(session, principal.subject_id, report_date),
                policy=(await self._policies(session, principal.org_path)).report,
            )
            report = replace(report, org_path=principal.org_path)
            await insert_report(session, report)
            await self._report_event(session, "daily_report.submitted", report, principal, now)
            if report.status is daily_reports.ReportStatus.LATE:
                await self._report_event(session, "daily_report.late", report, principal, now)
            return report

    async def _report_event(
        self,
        session: AsyncSession,
        verb: str,
        report: daily_reports.DailyReport,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        await self._emit(
            session,
            verb,
            report_state(report),
            aggregate_id=report.report_id,
            org_path=report.org_path,
            principal=principal,
            now=now,
        )

    async def falsify_daily_report(
        self, principal: Principal, report_id: str, comment: str
    ) -> daily_reports.DailyReport:
        principal.require("daily_reports:review")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await get_report(session, report_id)
            if current is None or not principal.can_see("daily_reports:read", current.rep_id, current.org_path):
                raise NotFound(f"daily report {report_id} not found", "id")
            in_scope = principal.can_see("daily_reports:review", current.rep_id, current.org_path)
            report = daily_reports.mark_falsified(
                current, manager_id=principal.subject_id, comment=comment, rep_in_scope=in_scope, now=now
            )
            report = await save_report(session, current, report)
            await self._report_event(session, "daily_report.falsified", report, principal, now)
            return report

    async def _commentable_report(
        self, session: AsyncSession, principal: Principal, report_id: str
    ) -> daily_reports.DailyReport:
        report = await get_report(session, report_id)
        if report is None or not principal.can_see("daily_reports:read", report.rep_id, report.org_path):
            raise NotFound(f"daily report {report_id} not found", "report_id")
        return report

    async def add_report_comment(self, principal: Principal, report_id: str, body: str) -> ReportComment:
        principal.require("daily_reports:read")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            report = await self._commentable_report(session, principal, report_id)
            text = report_comments.check_comment(
                report,
                author_id=principal.subject_id,
                body=body,
                may_review=principal.can_see("daily_reports:review", report.rep_id, report.org_path),
            )
            comment = ReportComment(new_id(), report.report_id, principal.subject_id, text, now)
            add_comment(session, comment)
            return comment

    async def list_report_comments(self, principal: Principal, report_id: str) -> list[ReportComment]:
        principal.require("daily_reports:read")
        async with self.sessions() as session:
            await self._commentable_report(session, principal, report_id)
            return await comments_of(session, report_id)

    @staticmethod
    def _period(from_date: str, to_date: str) -> tuple[date | None, date | None]:
        start, end = parse_date(from_date, "from_date"), parse_date(to_date, "to_date")
        if start and end and end < start:
            raise ValidationFailed("must not be before from_date", "to_date")
        return start, end

    async def list_daily_reports(
        self, principal: Principal, *, owner_id: str, from_date: str, to_date: str, page_size: int, page_token: str
    ) -> Page[daily_reports.DailyReport]:
        start, end = self._period(from_date, to_date)
        async with self.sessions() as session:
            return await report_store.page_in_scope(
                session, principal, owner_id=owner_id, start=start, end=end, page_size=page_size, page_token=page_token
            )

    async def _reports_in_scope(
        self, principal: Principal, from_date: str, to_date: str
    ) -> list[daily_reports.DailyReport]:
        start, end = self._period(from_date, to_date)
        async with self.sessions() as session:
            return await report_store.in_scope(session, principal, start, end)

    async def compliance(self, principal: Principal, from_date: str, to_date: str) -> report_ledger.TeamCompliance:
        return report_ledger.compliance_summary(await self._reports_in_scope(principal, from_date, to_date))

    async def policy_ledger(self, principal: Principal, from_date: str, to_date: str) -> list[report_ledger.RepLedger]:
        """Each rep's amounts follow the policy of the unit of his latest report in the period."""
        start, end = self._period(from_date, to_date)
        async with self.sessions() as session:
            found = await report_store.in_scope(session, principal, start, end)
            by_rep: dict[str, list[daily_reports.DailyReport]] = {}
            for report in found:
                by_rep.setdefault(report.rep_id, []).append(report)
            ledgers: list[report_ledger.RepLedger] = []
            for reports in by_rep.values():
                policy = (await self._policies(session, reports[-1].org_path)).report
                ledgers += report_ledger.policy_ledger(reports, policy)
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
            last_closed = await scheduler_marks.last_closed_day(session, zone_name)
            if last_closed is None:
                await scheduler_marks.start_report_days(
                    session, zone_name, daily_reports.local_report_date(now, zone) - timedelta(days=1)
                )
                return 0
            days = daily_reports.dates_to_mark_missing(now, zone, last_closed)
            rep_paths = {rep.user_id: rep.org_path for rep in reps}
            for day in days:
                filed = await report_store.filed_by(session, day, rep_paths)
                for rep_id in daily_reports.reps_missing_report(day, rep_paths, filed, self.report_policy):
                    report = daily_reports.missing_report(
                        report_id=new_id(), rep_id=rep_id, report_date=day, tz=zone, now=now
                    )
                    report = replace(report, org_path=rep_paths[rep_id])
                    add_report(session, report)
                    await self._report_event(session, "daily_report.missing", report, None, now)
                    written += 1
            if days:
                await scheduler_marks.close_report_days(session, zone_name, days[-1])
        return written
