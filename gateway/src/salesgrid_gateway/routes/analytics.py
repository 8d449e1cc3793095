"""/v1/targets, /v1/analytics/{funnel,performance,leaderboard,forecast,dashboard,compliance,trend,
cost-of-sale}, and the synchronous report download GET /v1/exports?report=."""

from __future__ import annotations

from typing import Any

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid_common.analytics_reports import REPORT_BY, accepted_by
from salesgrid_gateway.clients import call, from_json, stub
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.schema import Schemas
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.routes.common import report_sensitive_read
from salesgrid_gateway.web import Response, request

api = Service(pb, "Analytics", "analytics_addr", tag="analytics")
RANGE = {"from": "from_period", "to": "to_period"}  # a range of periods instead of `period`
REPORTS = ("performance", "leaderboard", "funnel", "forecast", "targets", "trend", "cost_of_sale", "channels")


def _query() -> pb.AnalyticsQuery:
    """The report query from the URL's parameters, each checked for its type and named."""
    rest_names = {field: name for name, field in RANGE.items()}
    values = {}
    for field in pb.AnalyticsQuery.DESCRIPTOR.fields:
        name = rest_names.get(field.name, field.name)
        if name in request.args:
            values[field.name] = inputs.query_value(field, name)
    return from_json(pb.AnalyticsQuery, values)


async def export_report() -> Response:
    """A report as a CSV or XLSX download; every export lands in the audit trail."""
    report, file_format = request.args.get("report", ""), request.args.get("format", "csv")
    inputs.reject_nul(report, "report")
    inputs.reject_nul(file_format, "format")
    inputs.check_choices({"by": accepted_by(report)})
    query = _query()
    analytics = stub(api.stub_class, api.address_setting)
    reply = await call(analytics.ExportReport, pb.ExportReportRequest(report=report, format=file_format, query=query))
    await report_sensitive_read("analytics.export", "analytics_report", f"{report} {file_format} {request.full_path}")
    return Response(
        reply.content,
        mimetype=reply.content_type,
        headers={"Content-Disposition": f'attachment; filename="{reply.filename}"'},
    )


BY_PER_REPORT = "; ".join(f"{report}: {', '.join(values)}" for report, values in REPORT_BY.items())


def _query_parameters() -> tuple[dict[str, Any], ...]:
    schemas = Schemas()
    return tuple(
        {
            "name": {v: k for k, v in RANGE.items()}.get(f.name, f.name),
            "in": "query",
            "required": False,
            "schema": schemas.field(f),
            **(
                {"description": f"the report's dimension ({BY_PER_REPORT}; other reports take none)"}
                if f.name == "by"
                else {}
            ),
        }
        for f in pb.AnalyticsQuery.DESCRIPTOR.fields
    )


def report(path: str, rpc: str, summary: str, name: str = "", **options: Any) -> Any:
    """A report operation: its query's `by` is the report's own dimension (none when it has none)."""
    return api.get(path, rpc, summary, rename=RANGE, choices={"by": accepted_by(name)}, **options)


FILES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
REPORT = ({"name": "report", "in": "query", "required": True, "schema": {"enum": list(REPORTS)}},)
FORMAT = ({"name": "format", "in": "query", "required": False, "schema": {"enum": ["csv", "xlsx"]}},)
A = "/v1/analytics/"
# fmt: off
ROUTES = [
    api.post("/v1/targets", "SetTargets", "Set a target and its decomposition (children must add up)"),
    api.get("/v1/targets", "ListTargets", "List targets in scope with actual and attainment"),
    report(A + "funnel", "GetFunnel", "Funnel per stage of one pipeline stage model (stage_model, default: default), conversion, time in stage and win rate"),
    report(A + "performance", "GetPerformance", "Performance per rep or per org level (group_depth)"),
    report(A + "leaderboard", "GetLeaderboard", "Ranking on one performance field (`by`, default contract_amount)", "leaderboard"),
    report(A + "forecast", "GetForecast", "Weighted pipeline by close month against target (each opportunity weighted by its own stage model, as in /v1/forecast; stage_model narrows to one)"),
    report(A + "dashboard", "GetDashboard", "A manager's dashboard for his subtree"),
    report(A + "compliance", "GetCompliance", "Daily-report compliance per rep or per org level (group_depth)"),
    report(A + "trend", "GetTrend", "One metric per month of the period", required=("metric",)),
    report(A + "cost-of-sale", "GetCostOfSale", "Paid expenses per rep, customer or opportunity (`by`, default rep) and the expense-to-collection ratio per rep and in total", "cost_of_sale"),
    report(A + "channels", "GetChannelPerformance", "Channel (by=channel, the default) or partner (by=partner) performance in scope: contract amount, collections, won/lost and win rate, ranked by contract amount", "channels"),
    view("GET", "/v1/exports", export_report, "Download a report as CSV or XLSX (audited)", tag="analytics", parameters=REPORT + FORMAT + _query_parameters(), response_types=FILES, headers=("Content-Disposition",)),
]
# fmt: on
