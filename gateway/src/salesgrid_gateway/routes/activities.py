"""/v1/follow-ups, /v1/check-ins, /v1/tasks, /v1/daily-reports, /v1/daily-report-compliance,
/v1/policy-ledger, /v1/unit-policies, /v1/calendar."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, STRINGS, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import json_body, page, page_size, require_fields, with_etag

blueprint = Blueprint("activities", __name__)

NUMBER = {"type": "number"}
DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}


def _activities() -> pb_grpc.ActivitiesStub:
    return stub(pb_grpc.ActivitiesStub, "activities_addr")


def _args(*names: str) -> dict[str, str]:
    return {name: request.args[name] for name in names if name in request.args}


def _flag(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


def _paging() -> dict[str, object]:
    return {"page_size": page_size(), "page_token": request.args.get("cursor", "")}


# --- follow-ups --------------------------------------------------------------------------------

@blueprint.post("/v1/follow-ups")
def log_follow_up() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "kind", "occurred_at", "notes")
    return jsonify(to_json(call(_activities().LogFollowUp, from_json(pb.LogFollowUpRequest, body)))), 201


@blueprint.get("/v1/follow-ups")
def list_follow_ups() -> Response:
    reply = call(_activities().ListFollowUps, from_json(pb.ListFollowUpsRequest, _args(
        "customer_id", "lead_id", "owner_id"), **_paging()))
    return jsonify(page([to_json(f) for f in reply.follow_ups], reply.next_page_token))


# --- check-ins ---------------------------------------------------------------------------------

@blueprint.post("/v1/check-ins")
def check_in() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "customer_id", "reading")
    return jsonify(to_json(call(_activities().CheckIn, from_json(pb.CheckInRequest, body)))), 201


@blueprint.post("/v1/check-ins/<visit_id>/check-out")
def check_out(visit_id: str) -> Response:
    body = json_body()
    require_fields(body, "reading")
    return jsonify(to_json(call(_activities().CheckOut, from_json(pb.CheckOutRequest, body, visit_id=visit_id))))


@blueprint.get("/v1/check-ins")
def list_check_ins() -> Response:
    reply = call(_activities().ListVisits, from_json(pb.ListVisitsRequest, _args("customer_id", "owner_id"),
                                                     flagged_only=_flag("flagged_only"), **_paging()))
    return jsonify(page([to_json(v) for v in reply.visits], reply.next_page_token))


# --- tasks -------------------------------------------------------------------------------------

@blueprint.post("/v1/tasks")
def create_task() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "title")
    return jsonify(to_json(call(_activities().CreateTask, from_json(pb.CreateTaskRequest, body)))), 201


@blueprint.get("/v1/tasks")
def list_tasks() -> Response:
    reply = call(_activities().ListTasks, from_json(pb.ListTasksRequest, _args("assignee_id", "status"),
                                                    overdue_only=_flag("overdue_only"), **_paging()))
    return jsonify(page([to_json(t) for t in reply.tasks], reply.next_page_token))


@blueprint.post("/v1/tasks/<task_id>/accept")
def accept_task(task_id: str) -> Response:
    return jsonify(to_json(call(_activities().AcceptTask, pb.AcceptTaskRequest(id=task_id))))


@blueprint.post("/v1/tasks/<task_id>/reject")
def reject_task(task_id: str) -> Response:
    body = json_body()
    require_fields(body, "reason")
    return jsonify(to_json(call(_activities().RejectTask, from_json(pb.RejectTaskRequest, body, id=task_id))))


@blueprint.post("/v1/tasks/<task_id>/complete")
def complete_task(task_id: str) -> Response:
    return jsonify(to_json(call(_activities().CompleteTask, pb.CompleteTaskRequest(id=task_id))))


# --- daily reports -----------------------------------------------------------------------------

@blueprint.post("/v1/daily-reports")
def submit_daily_report() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "summary")
    return jsonify(to_json(call(_activities().SubmitDailyReport, from_json(pb.SubmitDailyReportRequest, body)))), 201


@blueprint.get("/v1/daily-reports")
def list_daily_reports() -> Response:
    reply = call(_activities().ListDailyReports, from_json(pb.ListDailyReportsRequest, _args(
        "owner_id", "from_date", "to_date"), **_paging()))
    return jsonify(page([to_json(r) for r in reply.reports], reply.next_page_token))


@blueprint.post("/v1/daily-reports/<report_id>/falsify")
def falsify_daily_report(report_id: str) -> Response:
    body = json_body()
    require_fields(body, "comment")
    return jsonify(to_json(call(_activities().FalsifyDailyReport,
                                from_json(pb.FalsifyDailyReportRequest, body, id=report_id))))


@blueprint.post("/v1/daily-reports/<report_id>/comments")
def add_report_comment(report_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "body")
    return jsonify(to_json(call(_activities().AddReportComment,
                                from_json(pb.AddReportCommentRequest, body, report_id=report_id)))), 201


@blueprint.get("/v1/daily-reports/<report_id>/comments")
def list_report_comments(report_id: str) -> Response:
    reply = call(_activities().ListReportComments, pb.ListReportCommentsRequest(report_id=report_id))
    return jsonify(page([to_json(c) for c in reply.comments], ""))


@blueprint.get("/v1/calendar")
def calendar() -> Response:
    """?from=&to= (RFC 3339) and user_id or unit_id (default: the caller's own calendar)."""
    args = _args("user_id", "unit_id") | {
        target: request.args[source] for source, target in (("from", "window_start"), ("to", "window_end"))
        if source in request.args}
    reply = call(_activities().GetCalendar, from_json(pb.GetCalendarRequest, args))
    return jsonify({"items": [to_json(e) for e in reply.entries]})


@blueprint.get("/v1/daily-report-compliance")
def daily_report_compliance() -> Response:
    return jsonify(to_json(call(_activities().GetDailyReportCompliance, from_json(
        pb.GetDailyReportComplianceRequest, _args("from_date", "to_date")))))


@blueprint.get("/v1/policy-ledger")
def policy_ledger() -> Response:
    return jsonify(to_json(call(_activities().GetPolicyLedger, from_json(
        pb.GetPolicyLedgerRequest, _args("from_date", "to_date")))))


# --- per-unit policies ------------------------------------------------------------------------

@blueprint.put("/v1/unit-policies/<unit_id>")
def set_unit_policy(unit_id: str) -> tuple[Response, int]:
    overrides = from_json(pb.PolicyValues, json_body())
    reply = call(_activities().SetUnitPolicy, pb.SetUnitPolicyRequest(unit_id=unit_id, overrides=overrides))
    return with_etag(to_json(reply), reply.version)


@blueprint.get("/v1/unit-policies/<unit_id>")
def get_unit_policy(unit_id: str) -> tuple[Response, int]:
    reply = call(_activities().GetUnitPolicy, pb.GetUnitPolicyRequest(unit_id=unit_id))
    return with_etag(to_json(reply), reply.version)


# --- OpenAPI -----------------------------------------------------------------------------------

READING = obj(["latitude", "longitude", "accuracy_m", "device_time"], latitude=NUMBER, longitude=NUMBER,
              accuracy_m=NUMBER, device_time=DATE_TIME, photo_ref=STRING)
VISIT_END = obj(reading=READING, received_at=DATE_TIME, has_distance=BOOLEAN, distance_m=NUMBER, flags=STRINGS)
FOLLOW_UP = obj(id=STRING, owner_id=STRING, org_path=STRING, kind=STRING, occurred_at=DATE_TIME, notes=STRING,
                customer_id=STRING, contact_id=STRING, opportunity_id=STRING, lead_id=STRING,
                next_follow_up_on=STRING, created_at=DATE_TIME, version=INTEGER)
VISIT = obj(id=STRING, owner_id=STRING, org_path=STRING, customer_id=STRING, check_in=VISIT_END,
            check_out=VISIT_END, flagged=BOOLEAN, duration_seconds=INTEGER, version=INTEGER)
TASK = obj(id=STRING, creator_id=STRING, assignee_id=STRING, org_path=STRING, title=STRING, description=STRING,
           start_at=DATE_TIME, end_at=DATE_TIME, due_at=DATE_TIME, reminder_minutes={"type": "array", "items": INTEGER},
           private=BOOLEAN, status={"enum": ["pending_acceptance", "accepted", "rejected", "completed"]},
           reject_reason=STRING, overdue=BOOLEAN, created_at=DATE_TIME, completed_at=DATE_TIME, version=INTEGER)
REPORT = obj(id=STRING, owner_id=STRING, org_path=STRING, report_date=STRING, time_zone=STRING,
             status={"enum": ["on_time", "late", "missing"]}, summary=STRING, visit_ids=STRINGS,
             tomorrow_plan=STRING, problems=STRING, submitted_at=DATE_TIME, falsified=BOOLEAN, falsified_by=STRING,
             falsified_comment=STRING, version=INTEGER)
COUNTS = obj(rep_id=STRING, on_time=INTEGER, late=INTEGER, missing=INTEGER, falsified=INTEGER, compliant=INTEGER,
             total=INTEGER, rate={"type": "string", "description": "decimal, empty when nothing was due"})
LEDGER = obj(reps={"type": "array", "items": obj(
    rep_id=STRING, total={"type": "string", "description": "decimal amount"}, currency=STRING,
    lines={"type": "array", "items": obj(infraction={"enum": ["late", "missing", "falsified"]}, count=INTEGER,
                                         unit_amount=STRING, amount=STRING)})})
POLICY_VALUES = obj(check_in_radius_m=NUMBER, report_deadline={"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                    late_fine=STRING, missing_fine=STRING, falsified_fine=STRING, currency=STRING)
UNIT_POLICY = obj(unit_id=STRING, overrides=POLICY_VALUES, effective=POLICY_VALUES, version=INTEGER)
COMMENT = obj(id=STRING, report_id=STRING, author_id=STRING, body=STRING, created_at=DATE_TIME)
CALENDAR_ENTRY = obj(task_id=STRING, owner_id=STRING, start=DATE_TIME, end=DATE_TIME, busy_only=BOOLEAN,
                     title=STRING, description=STRING, status=STRING)
PERIOD = [query_param("from_date", DATE), query_param("to_date", DATE)]
PAGING = [query_param("limit", INTEGER), query_param("cursor")]


def describe(api: OpenApi) -> None:
    t = "activities"
    api.operation("/v1/follow-ups", "post", "Log a follow-up (call, email, meeting, visit, other)", tag=t,
                  status=201, response=FOLLOW_UP, request=obj(
                      ["kind", "occurred_at", "notes"], kind={"enum": ["call", "email", "meeting", "visit", "other"]},
                      occurred_at=DATE_TIME, notes=STRING, customer_id=STRING, contact_id=STRING,
                      opportunity_id=STRING, lead_id=STRING, next_follow_up_on=DATE))
    api.operation("/v1/follow-ups", "get", "List follow-ups in scope (newest first)", tag=t, parameters=[
        query_param("customer_id"), query_param("lead_id"), query_param("owner_id"), *PAGING])
    api.operation("/v1/check-ins", "post", "Check in at a customer; far or imprecise readings are flagged", tag=t,
                  status=201, response=VISIT, request=obj(["customer_id", "reading"], customer_id=STRING,
                                                          reading=READING))
    api.operation("/v1/check-ins", "get", "List visits in scope", tag=t, parameters=[
        query_param("customer_id"), query_param("owner_id"), query_param("flagged_only", BOOLEAN), *PAGING])
    api.operation("/v1/check-ins/{visit_id}/check-out", "post", "Check out of an open visit", tag=t,
                  response=VISIT, request=obj(["reading"], reading=READING), parameters=[path_param("visit_id")])
    api.operation("/v1/tasks", "post", "Create a task for oneself or someone in scope", tag=t, status=201,
                  response=TASK, request=obj(
                      ["title"], assignee_id=STRING, title=STRING, description=STRING, start_at=DATE_TIME,
                      end_at=DATE_TIME, due_at=DATE_TIME, reminder_minutes={"type": "array", "items": INTEGER},
                      private=BOOLEAN))
    api.operation("/v1/tasks", "get", "List tasks in scope or created by the caller", tag=t, parameters=[
        query_param("assignee_id"), query_param("status"), query_param("overdue_only", BOOLEAN), *PAGING])
    for action, summary in (("accept", "Accept a task assigned to you"), ("complete", "Complete an accepted task")):
        api.operation(f"/v1/tasks/{{task_id}}/{action}", "post", summary, tag=t, response=TASK,
                      parameters=[path_param("task_id")])
    api.operation("/v1/tasks/{task_id}/reject", "post", "Reject a task assigned to you, with a reason", tag=t,
                  response=TASK, request=obj(["reason"], reason=STRING), parameters=[path_param("task_id")])
    api.operation("/v1/daily-reports", "post", "Submit today's report (on time until 18:00 local, then late)",
                  tag=t, status=201, response=REPORT, request=obj(
                      ["summary"], summary=STRING, visit_ids=STRINGS, tomorrow_plan=STRING, problems=STRING))
    api.operation("/v1/daily-reports", "get", "List daily reports in scope", tag=t, parameters=[
        query_param("owner_id"), *PERIOD, *PAGING])
    api.operation("/v1/daily-reports/{report_id}/falsify", "post", "Mark a report falsified (managers)", tag=t,
                  response=REPORT, request=obj(["comment"], comment=STRING), parameters=[path_param("report_id")])
    api.operation("/v1/daily-report-compliance", "get", "Report compliance per rep and for the team", tag=t,
                  response=obj(reps={"type": "array", "items": COUNTS}, team=COUNTS), parameters=PERIOD)
    api.operation("/v1/policy-ledger", "get", "Late / missing / falsified counts and amounts per rep", tag=t,
                  response=LEDGER, parameters=PERIOD)
    api.operation("/v1/unit-policies/{unit_id}", "put", "Set a unit's own check-in radius, report deadline and "
                  "fines (unset values are inherited from the nearest ancestor)", tag=t, response=UNIT_POLICY,
                  request=POLICY_VALUES, parameters=[path_param("unit_id")])
    api.operation("/v1/unit-policies/{unit_id}", "get", "A unit's overrides and the policy in effect there", tag=t,
                  response=UNIT_POLICY, parameters=[path_param("unit_id")])
    api.operation("/v1/daily-reports/{report_id}/comments", "post", "Comment on a report (its reviewing "
                  "managers, or the rep)", tag=t, status=201, response=COMMENT, request=obj(["body"], body=STRING),
                  parameters=[path_param("report_id")])
    api.operation("/v1/daily-reports/{report_id}/comments", "get", "A report's comments, oldest first", tag=t,
                  response=obj(items={"type": "array", "items": COMMENT}), parameters=[path_param("report_id")])
    api.operation("/v1/calendar", "get", "Schedules of a user or a team in a window; others' private entries "
                  "as busy time", tag=t, response=obj(items={"type": "array", "items": CALENDAR_ENTRY}),
                  parameters=[query_param("from", DATE_TIME), query_param("to", DATE_TIME),
                              query_param("user_id"), query_param("unit_id")])
