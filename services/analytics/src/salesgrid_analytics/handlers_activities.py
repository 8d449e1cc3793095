"""Activities events as facts: follow-ups, check-ins and daily reports (submitted, missing,
falsified)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import (
    ActivitiesDailyReportState,
    ActivitiesFollowUpLogged,
    ActivitiesVisitReading,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_analytics import factstore
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.fact_events import common
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.events.consumer import Handler, Subscription


def _report_day(fact_class: type[f.DailyReportMissing | f.DailyReportFalsified]) -> Handler:
    """A handler storing a daily-report fact that carries only the day it is about."""

    async def handle(session: AsyncSession, envelope: Envelope, report: ActivitiesDailyReportState) -> None:
        await factstore.store_fact(
            session,
            fact_class(
                **common(envelope, report.owner_id, report.org_path),
                report_date=date.fromisoformat(report.report_date),
            ),
        )

    return handle


def activities_subscription() -> Subscription:
    """Follow-ups, visits and daily reports. `check_in.flagged` and `daily_report.late` repeat a
    check-in or submission already counted (its flags / status say it), so they are not consumed."""
    sub = Subscription(name="analytics-activities-facts", producer="activities")

    @sub.on("salesgrid.activities.follow_up.logged", ActivitiesFollowUpLogged)
    async def follow_up(session: AsyncSession, envelope: Envelope, logged: ActivitiesFollowUpLogged) -> None:
        fact = f.FollowUpLogged(
            **common(envelope, logged.owner_id, logged.org_path),
            customer_id=await survivor_of(session, logged.customer_id),
        )
        await factstore.store_fact(session, fact)

    @sub.on("salesgrid.activities.check_in.recorded", ActivitiesVisitReading)
    async def check_in(session: AsyncSession, envelope: Envelope, visit: ActivitiesVisitReading) -> None:
        await factstore.store_fact(
            session,
            f.CheckInRecorded(
                **common(envelope, visit.owner_id, visit.org_path),
                customer_id=await survivor_of(session, visit.customer_id),
                flagged=bool(visit.flags),
            ),
        )

    @sub.on("salesgrid.activities.daily_report.submitted", ActivitiesDailyReportState)
    async def submitted(session: AsyncSession, envelope: Envelope, report: ActivitiesDailyReportState) -> None:
        timing = f.ReportTiming.LATE if report.status == "late" else f.ReportTiming.ON_TIME
        await factstore.store_fact(
            session,
            f.DailyReportSubmitted(
                **common(envelope, report.owner_id, report.org_path),
                report_date=date.fromisoformat(report.report_date),
                timing=timing,
            ),
        )

    for verb, fact_class in (("missing", f.DailyReportMissing), ("falsified", f.DailyReportFalsified)):
        sub.on(f"salesgrid.activities.daily_report.{verb}", ActivitiesDailyReportState)(_report_day(fact_class))

    return sub
