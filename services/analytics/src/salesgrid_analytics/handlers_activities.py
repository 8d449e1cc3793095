"""Activities events as facts: follow-ups, check-ins and daily reports (submitted, missing,
falsified)."""

from __future__ import annotations

from datetime import date

from salesgrid.events.v1.activities_events_pb2 import (
    ActivitiesDailyReportState,
    ActivitiesFollowUpLogged,
    ActivitiesVisitReading,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.fact_events import common
from salesgrid_analytics.fact_handlers import FactHandlers, Lookups, Make
from salesgrid_common.events.consumer import Subscription


def _report_day(fact_class: type[f.DailyReportMissing | f.DailyReportFalsified]) -> Make:
    """A fact maker for a daily-report fact that carries only the day it is about."""

    async def make(_: Lookups, envelope: Envelope, report: ActivitiesDailyReportState) -> f.Fact:
        return fact_class(
            **common(envelope, report.owner_id, report.org_path),
            report_date=date.fromisoformat(report.report_date),
        )

    return make


def activities_subscription() -> Subscription:
    """Follow-ups, visits and daily reports. `check_in.flagged` and `daily_report.late` repeat a
    check-in or submission already counted (its flags / status say it), so they are not consumed.
    Every handler is a fact maker (fact_handlers): a run of these events is one insert."""
    sub = Subscription(name="analytics-activities-facts", producer="activities")
    facts = FactHandlers(sub)

    @facts.on("salesgrid.activities.follow_up.logged", ActivitiesFollowUpLogged)
    async def follow_up(lookups: Lookups, envelope: Envelope, logged: ActivitiesFollowUpLogged) -> f.Fact:
        return f.FollowUpLogged(
            **common(envelope, logged.owner_id, logged.org_path),
            customer_id=await lookups.survivor(logged.customer_id),
        )

    @facts.on("salesgrid.activities.check_in.recorded", ActivitiesVisitReading)
    async def check_in(lookups: Lookups, envelope: Envelope, visit: ActivitiesVisitReading) -> f.Fact:
        return f.CheckInRecorded(
            **common(envelope, visit.owner_id, visit.org_path),
            customer_id=await lookups.survivor(visit.customer_id),
            flagged=bool(visit.flags),
        )

    @facts.on("salesgrid.activities.daily_report.submitted", ActivitiesDailyReportState)
    async def submitted(_: Lookups, envelope: Envelope, report: ActivitiesDailyReportState) -> f.Fact:
        timing = f.ReportTiming.LATE if report.status == "late" else f.ReportTiming.ON_TIME
        return f.DailyReportSubmitted(
            **common(envelope, report.owner_id, report.org_path),
            report_date=date.fromisoformat(report.report_date),
            timing=timing,
        )

    for verb, fact_class in (("missing", f.DailyReportMissing), ("falsified", f.DailyReportFalsified)):
        facts.on(f"salesgrid.activities.daily_report.{verb}", ActivitiesDailyReportState)(_report_day(fact_class))

    return sub
