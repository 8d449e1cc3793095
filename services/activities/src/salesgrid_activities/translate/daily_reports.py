"""Daily reports, their comments, compliance counts and unit policies -> proto."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain import unit_policies
from salesgrid_activities.domain.daily_reports import DailyReport
from salesgrid_activities.domain.report_ledger import ComplianceCounts
from salesgrid_activities.domain.report_comments import ReportComment


def report_pb(report: DailyReport) -> pb.DailyReport:
    content = report.content
    return pb.DailyReport(
        id=report.report_id,
        owner_id=report.rep_id,
        org_path=report.org_path,
        report_date=report.report_date.isoformat(),
        time_zone=report.time_zone,
        status=report.status.value,
        summary=content.summary if content else "",
        visit_ids=content.visit_ids if content else (),
        tomorrow_plan=(content.tomorrow_plan if content else None) or "",
        problems=(content.problems if content else None) or "",
        submitted_at=to_timestamp(report.submitted_at),
        falsified=report.falsified,
        falsified_by=report.falsified_by or "",
        falsified_comment=report.falsified_comment or "",
        version=report.version,
    )


def _policy_values(
    check_in_radius_m: float | None,
    deadline: time | None,
    late: Decimal | None,
    missing: Decimal | None,
    falsified: Decimal | None,
    currency: str | None,
) -> pb.PolicyValues:
    return pb.PolicyValues(
        check_in_radius_m=check_in_radius_m,
        report_deadline=deadline.strftime("%H:%M") if deadline else None,
        late_fine=None if late is None else str(late),
        missing_fine=None if missing is None else str(missing),
        falsified_fine=None if falsified is None else str(falsified),
        currency=currency,
    )


def unit_policy_pb(
    unit_id: str, policy: unit_policies.UnitPolicy | None, policies: unit_policies.Policies
) -> pb.UnitPolicy:
    r, own = policies.report, policy.overrides if policy else None
    return pb.UnitPolicy(
        unit_id=unit_id,
        overrides=pb.PolicyValues()
        if own is None
        else _policy_values(
            own.check_in_radius_m,
            own.report_deadline,
            own.late_fine,
            own.missing_fine,
            own.falsified_fine,
            own.currency,
        ),
        version=policy.version if policy else 0,
        effective=_policy_values(
            policies.check_in.radius_m, r.deadline, r.late_fine, r.missing_fine, r.falsified_fine, r.currency
        ),
    )


def comment_pb(comment: ReportComment) -> pb.ReportComment:
    return pb.ReportComment(
        id=comment.id,
        report_id=comment.report_id,
        author_id=comment.author_id,
        body=comment.body,
        created_at=to_timestamp(comment.created_at),
    )


def counts_pb(rep_id: str, counts: ComplianceCounts) -> pb.ComplianceCount:
    rate = counts.rate
    return pb.ComplianceCount(
        rep_id=rep_id,
        on_time=counts.on_time,
        late=counts.late,
        missing=counts.missing,
        falsified=counts.falsified,
        compliant=counts.compliant,
        total=counts.total,
        rate="" if rate is None else str(rate),
    )
