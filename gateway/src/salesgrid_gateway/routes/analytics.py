"""/v1/targets, /v1/analytics/{funnel,performance,leaderboard,forecast,dashboard,compliance,trend},
/v1/exports."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import INTEGER, STRING, OpenApi, obj, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.common import json_body, report_sensitive_read, require_fields

blueprint = Blueprint("analytics", __name__)

_TEXT_PARAMS = ("period", "subtree", "rep_id", "currency", "time_zone", "by", "metric", "stage_model")
_RANGE_PARAMS = {"from": "from_period", "to": "to_period"}  # a range instead of `period`
_INT_PARAMS = ("group_depth", "limit")


def _analytics() -> pb_grpc.AnalyticsStub:
    return stub(pb_grpc.AnalyticsStub, "analytics_addr")


def _query() -> pb.AnalyticsQuery:
    """The report query from the URL's parameters; whole numbers are checked here to name them."""
    values: dict[str, Any] = {name: request.args[name] for name in _TEXT_PARAMS if name in request.args}
    values |= {field: request.args[name] for name, field in _RANGE_PARAMS.items() if name in request.args}
    for name in _INT_PARAMS:
        raw = request.args.get(name)
        if raw is None:
            continue
        if not raw.isdigit():
            raise ApiProblem(400, f"{name} must be a whole number", errors=[{"field": name, "message": "not a number"}])
        values[name] = int(raw)
    return from_json(pb.AnalyticsQuery, values)


@blueprint.post("/v1/targets")
def set_targets() -> Response:
    body = json_body()
    require_fields(body, "parent")
    return jsonify(to_json(call(_analytics().SetTargets, from_json(pb.SetTargetsRequest, body))))


@blueprint.get("/v1/targets")
def list_targets() -> Response:
    query = {k: request.args[k] for k in ("subtree", "metric", "period", "time_zone") if k in request.args}
    return jsonify(to_json(call(_analytics().ListTargets, from_json(pb.ListTargetsRequest, query))))


def _report(method: str) -> Any:
    def view() -> Response:
        return jsonify(to_json(call(getattr(_analytics(), method), _query())))
    return view


# The report views differ only in the RPC they call.
for _name, _method in (("funnel", "GetFunnel"), ("performance", "GetPerformance"), ("leaderboard", "GetLeaderboard"),
                       ("forecast", "GetForecast"), ("dashboard", "GetDashboard"), ("compliance", "GetCompliance"),
                       ("trend", "GetTrend"), ("cost-of-sale", "GetCostOfSale")):
    blueprint.add_url_rule(f"/v1/analytics/{_name}", f"analytics_{_name}", _report(_method), methods=["GET"])


@blueprint.get("/v1/exports")
def export() -> Response:
    """A report as a CSV or XLSX download; every export lands in the audit trail."""
    report, file_format = request.args.get("report", ""), request.args.get("format", "csv")
    reply = call(_analytics().ExportReport, pb.ExportReportRequest(report=report, format=file_format, query=_query()))
    report_sensitive_read("analytics.export", "analytics_report", f"{report} {file_format} {request.full_path}")
    return Response(reply.content, mimetype=reply.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{reply.filename}"'})


TARGET = obj(["metric", "period", "org_path", "amount"], metric={"enum": [
    "collected_revenue", "contract_amount", "new_customers", "visits"]}, period=STRING, org_path=STRING,
    rep_id=STRING, amount=STRING, currency=STRING, actual=STRING, attainment=STRING)
PERFORMANCE_LINE = obj(key=STRING, contract_amount=STRING, collections=STRING, new_customers=INTEGER,
                       follow_ups=INTEGER, visits=INTEGER, flagged_visits=INTEGER, reports_on_time=INTEGER,
                       reports_late=INTEGER, reports_missing=INTEGER, reports_falsified=INTEGER,
                       report_compliance=STRING, sla_overdue=INTEGER, gate_violations=INTEGER,
                       receivables_outstanding=STRING)
COMPLIANCE_LINE = obj(key=STRING, on_time=INTEGER, late=INTEGER, missing=INTEGER, falsified=INTEGER, due=INTEGER,
                      compliance=STRING)
ENTRY = obj(rank=INTEGER, key=STRING, value=STRING)
FORECAST_MONTH = obj(period=STRING, won=STRING, weighted_pipeline=STRING, forecast=STRING, target=STRING,
                     gap=STRING, coverage=STRING)
FUNNEL = obj(period=STRING, subtree=STRING, currency=STRING, won=INTEGER, lost=INTEGER, won_amount=STRING,
             win_rate=STRING, stage_model=STRING, stage_model_version=INTEGER,
             stage_models={"type": "array", "items": STRING}, stages={"type": "array", "items": obj(
                 stage=STRING, entered=INTEGER, amount=STRING, advanced=INTEGER, conversion=STRING,
                 average_hours={"type": "number"}, has_average={"type": "boolean"})})


def _array(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


def describe(api: OpenApi) -> None:
    t = "analytics"
    params = [query_param("period"), query_param("from"), query_param("to"), query_param("subtree"), query_param("rep_id"), query_param("currency"),
              query_param("time_zone"), query_param("group_depth", INTEGER), query_param("by"),
              query_param("limit", INTEGER)]
    api.operation("/v1/targets", "post", "Set a target and its decomposition (children must add up)", tag=t,
                  request=obj(["parent"], parent=TARGET, children=_array(TARGET), mode={"enum": ["reject", "report"]}),
                  response=obj(targets=_array(TARGET), difference=STRING))
    api.operation("/v1/targets", "get", "List targets in scope with actual and attainment", tag=t,
                  response=obj(targets=_array(TARGET)), parameters=[
                      query_param("subtree"), query_param("metric"), query_param("period"), query_param("time_zone")])
    model = query_param("stage_model")
    api.operation("/v1/analytics/funnel", "get", "Funnel per stage of one pipeline stage model (stage_model, "
                  "default: default), conversion, time in stage and win rate", tag=t,
                  response=FUNNEL, parameters=[*params, model])
    api.operation("/v1/analytics/performance", "get", "Performance per rep or per org level", tag=t,
                  response=obj(period=STRING, currency=STRING, rows=_array(PERFORMANCE_LINE)), parameters=params)
    api.operation("/v1/analytics/leaderboard", "get", "Ranking on one performance field", tag=t,
                  response=obj(by=STRING, entries=_array(ENTRY)), parameters=params)
    api.operation("/v1/analytics/forecast", "get", "Weighted pipeline by close month against target (each "
                  "opportunity weighted by its own stage model, as in /v1/forecast; stage_model narrows to one)",
                  tag=t, response=obj(currency=STRING, months=_array(FORECAST_MONTH), total=FORECAST_MONTH),
                  parameters=[*params, model])
    api.operation("/v1/analytics/dashboard", "get", "A manager's dashboard for his subtree", tag=t,
                  response=obj(period=STRING, subtree=STRING, totals=_array(PERFORMANCE_LINE),
                               units=_array(PERFORMANCE_LINE), top_reps=_array(ENTRY), funnel=FUNNEL,
                               forecast=FORECAST_MONTH, targets=_array(TARGET),
                               new_users=_array(obj(org_path=STRING, new_users=INTEGER))), parameters=params)
    api.operation("/v1/analytics/compliance", "get", "Daily-report compliance per rep or per org level", tag=t,
                  response=obj(period=STRING, rows=_array(COMPLIANCE_LINE), total=COMPLIANCE_LINE),
                  parameters=params)
    api.operation("/v1/analytics/trend", "get", "One metric per month of the period", tag=t,
                  response=obj(metric=STRING, currency=STRING, points=_array(obj(period=STRING, value=STRING))),
                  parameters=[*params, query_param("metric", {"enum": [
                      "collected_revenue", "contract_amount", "new_customers", "visits"]})])
    cost_line = obj(key=STRING, expenses=STRING, claims=INTEGER, collected=STRING, ratio=STRING)
    api.operation("/v1/analytics/cost-of-sale", "get", "Paid expenses per rep, customer or opportunity (`by`) "
                  "and the expense-to-collection ratio per rep and in total", tag=t,
                  response=obj(period=STRING, currency=STRING, by={"enum": ["rep", "customer", "opportunity"]},
                               lines=_array(cost_line), total=cost_line), parameters=params)
    api.operation("/v1/exports", "get", "Download a report as CSV or XLSX (audited)", tag=t, parameters=[
        query_param("report", {"enum": ["performance", "leaderboard", "funnel", "forecast", "targets", "trend",
                                         "cost_of_sale", "channels"]}),
        query_param("format", {"enum": ["csv", "xlsx"]}), query_param("metric"), *params])
