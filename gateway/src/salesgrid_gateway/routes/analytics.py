"""/v1/targets, /v1/analytics/{funnel,performance,leaderboard,forecast,dashboard,compliance,trend,
cost-of-sale}, and the synchronous report download GET /v1/exports?report=."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid_gateway.clients import call, from_json, stub
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.schema import Schemas, hint
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.routes.common import report_sensitive_read

api = Service(pb, "Analytics", "analytics_addr", tag="analytics")
RANGE = {"from": "from_period", "to": "to_period"}  # a range of periods instead of `period`
METRIC = {"enum": ["collected_revenue", "contract_amount", "new_customers", "visits"]}
hint("salesgrid.analytics.v1.AnalyticsTarget", metric=METRIC)
REPORTS = ("performance", "leaderboard", "funnel", "forecast", "targets", "trend", "cost_of_sale", "channels")


def _report(path: str, rpc: str, summary: str) -> Any:
    return api.get(f"/v1/analytics/{path}", rpc, summary, rename=RANGE)


def _query() -> pb.AnalyticsQuery:
    """The report query from the URL's parameters, each checked for its type and named."""
    rest_names = {field: name for name, field in RANGE.items()}
    values = {}
    for field in pb.AnalyticsQuery.DESCRIPTOR.fields:
        name = rest_names.get(field.name, field.name)
        if name in request.args:
            values[field.name] = inputs.query_value(field, name)
    return from_json(pb.AnalyticsQuery, values)


def export_report() -> Response:
    """A report as a CSV or XLSX download; every export lands in the audit trail."""
    report, file_format = request.args.get("report", ""), request.args.get("format", "csv")
    inputs.reject_nul(report, "report")
    inputs.reject_nul(file_format, "format")
    query = _query()
    analytics = stub(api.stub_class, api.address_setting)
    reply = call(analytics.ExportReport, pb.ExportReportRequest(report=report, format=file_format, query=query))
    report_sensitive_read("analytics.export", "analytics_report", f"{report} {file_format} {request.full_path}")
    return Response(
        reply.content,
        mimetype=reply.content_type,
        headers={"Content-Disposition": f'attachment; filename="{reply.filename}"'},
    )


def _query_parameters() -> tuple[dict[str, Any], ...]:
    schemas = Schemas()
    return tuple(
        {
            "name": {v: k for k, v in RANGE.items()}.get(f.name, f.name),
            "in": "query",
            "required": False,
            "schema": schemas.field(f),
        }
        for f in pb.AnalyticsQuery.DESCRIPTOR.fields
    )


ROUTES = [
    api.post(
        "/v1/targets", "SetTargets", "Set a target and its decomposition (children must add up)", required=("parent",)
    ),
    api.get("/v1/targets", "ListTargets", "List targets in scope with actual and attainment"),
    _report(
        "funnel",
        "GetFunnel",
        "Funnel per stage of one pipeline stage model (stage_model, default: default), "
        "conversion, time in stage and win rate",
    ),
    _report("performance", "GetPerformance", "Performance per rep or per org level"),
    _report("leaderboard", "GetLeaderboard", "Ranking on one performance field"),
    _report(
        "forecast",
        "GetForecast",
        "Weighted pipeline by close month against target (each opportunity "
        "weighted by its own stage model, as in /v1/forecast; stage_model narrows to one)",
    ),
    _report("dashboard", "GetDashboard", "A manager's dashboard for his subtree"),
    _report("compliance", "GetCompliance", "Daily-report compliance per rep or per org level"),
    _report("trend", "GetTrend", "One metric per month of the period"),
    _report(
        "cost-of-sale",
        "GetCostOfSale",
        "Paid expenses per rep, customer or opportunity (`by`) and the "
        "expense-to-collection ratio per rep and in total",
    ),
    _report(
        "channels",
        "GetChannelPerformance",
        "Channel (by=channel) or partner (by=partner) performance in "
        "scope: contract amount, collections, won/lost and win rate, ranked by contract amount",
    ),
    view(
        "GET",
        "/v1/exports",
        export_report,
        "Download a report as CSV or XLSX (audited)",
        tag="analytics",
        parameters=(
            {"name": "report", "in": "query", "required": True, "schema": {"enum": list(REPORTS)}},
            {"name": "format", "in": "query", "required": False, "schema": {"enum": ["csv", "xlsx"]}},
            *_query_parameters(),
        ),
        response_types=("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        headers=("Content-Disposition",),
    ),
]
