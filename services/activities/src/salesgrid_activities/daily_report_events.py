"""The payload of the daily report's events, built from the domain DailyReport in this one place."""

from __future__ import annotations

from salesgrid.events.v1.activities_events_pb2 import ActivitiesDailyReportState
from salesgrid_activities.domain.daily_reports import DailyReport


def report_state(report: DailyReport) -> ActivitiesDailyReportState:
    """The report as its submitted/late/missing/falsified events carry it."""
    return ActivitiesDailyReportState(
        report_id=report.report_id,
        owner_id=report.rep_id,
        org_path=report.org_path,
        report_date=report.report_date.isoformat(),
        time_zone=report.time_zone,
        status=report.status.value,
        falsified=report.falsified,
        falsified_by=report.falsified_by or "",
    )
