"""/v1/follow-ups, /v1/check-ins, /v1/tasks, /v1/daily-reports, /v1/daily-report-compliance,
/v1/policy-ledger, /v1/unit-policies, /v1/calendar."""

from __future__ import annotations

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Activities", "activities_addr", tag="activities")
DATE = {"format": "date"}
hint(
    "salesgrid.activities.v1.LogFollowUpRequest",
    kind={"enum": ["call", "email", "meeting", "visit", "other"]},
    next_follow_up_on=DATE,
)
hint("salesgrid.activities.v1.Task", status={"enum": ["pending_acceptance", "accepted", "rejected", "completed"]})
hint("salesgrid.activities.v1.PolicyValues", report_deadline={"pattern": "^([0-2][0-9]:[0-5][0-9])?$"})

ROUTES = [
    api.post(
        "/v1/follow-ups",
        "LogFollowUp",
        "Log a follow-up (call, email, meeting, visit, other)",
        status=201,
        required=("kind", "occurred_at", "notes"),
    ),
    api.get("/v1/follow-ups", "ListFollowUps", "List follow-ups in scope (newest first)", items="follow_ups"),
    api.post(
        "/v1/check-ins",
        "CheckIn",
        "Check in at a customer; far or imprecise readings are flagged",
        status=201,
        required=("customer_id", "reading"),
    ),
    api.get("/v1/check-ins", "ListVisits", "List visits in scope", items="visits"),
    api.post("/v1/check-ins/{visit_id}/check-out", "CheckOut", "Check out of an open visit", required=("reading",)),
    api.post(
        "/v1/tasks", "CreateTask", "Create a task for oneself or someone in scope", status=201, required=("title",)
    ),
    api.get("/v1/tasks", "ListTasks", "List tasks in scope or created by the caller", items="tasks"),
    api.post("/v1/tasks/{task_id}/accept", "AcceptTask", "Accept a task assigned to you", body=""),
    api.post(
        "/v1/tasks/{task_id}/reject", "RejectTask", "Reject a task assigned to you, with a reason", required=("reason",)
    ),
    api.post("/v1/tasks/{task_id}/complete", "CompleteTask", "Complete an accepted task", body=""),
    api.post(
        "/v1/daily-reports",
        "SubmitDailyReport",
        "Submit today's report (on time until the unit's deadline, then late)",
        status=201,
        required=("summary",),
    ),
    api.get("/v1/daily-reports", "ListDailyReports", "List daily reports in scope", items="reports"),
    api.post(
        "/v1/daily-reports/{report_id}/falsify",
        "FalsifyDailyReport",
        "Mark a report falsified (managers)",
        required=("comment",),
    ),
    api.post(
        "/v1/daily-reports/{report_id}/comments",
        "AddReportComment",
        "Comment on a report (its reviewing managers, or the rep)",
        status=201,
        required=("body",),
    ),
    api.get(
        "/v1/daily-reports/{report_id}/comments",
        "ListReportComments",
        "A report's comments, oldest first",
        items="comments",
    ),
    api.get(
        "/v1/calendar",
        "GetCalendar",
        "Schedules of a user or a team in a window (from, to: RFC 3339); others' private entries as busy time",
        items="entries",
        rename={"from": "window_start", "to": "window_end"},
    ),
    api.get("/v1/daily-report-compliance", "GetDailyReportCompliance", "Report compliance per rep and for the team"),
    api.get("/v1/policy-ledger", "GetPolicyLedger", "Late / missing / falsified counts and amounts per rep"),
    api.put(
        "/v1/unit-policies/{unit_id}",
        "SetUnitPolicy",
        "Set a unit's own check-in radius, report deadline and "
        "fines (unset values are inherited from the nearest ancestor)",
        body="overrides",
    ),
    api.get("/v1/unit-policies/{unit_id}", "GetUnitPolicy", "A unit's overrides and the policy in effect there"),
]
