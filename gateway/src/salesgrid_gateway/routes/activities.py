"""/v1/follow-ups, /v1/check-ins, /v1/tasks, /v1/daily-reports, /v1/daily-report-compliance,
/v1/policy-ledger, /v1/unit-policies, /v1/calendar, /v1/announcements (新闻公告发布), /v1/inbox,
/v1/spot-checks (每周抽查) and /v1/falsification-ledger (虚报): the activities service."""

from __future__ import annotations

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import announcements_pb2, inbox_pb2, spot_checks_pb2
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Activities", "activities_addr", tag="activities")
news = Service(announcements_pb2, "Announcements", "activities_addr", tag="announcements")
inbox = Service(inbox_pb2, "Inbox", "activities_addr", tag="inbox")
checks = Service(spot_checks_pb2, "SpotChecks", "activities_addr", tag="spot_checks")
R, N = "/v1/daily-reports/{report_id}", "/v1/announcements/{announcement_id}"
# fmt: off
ROUTES = [
    api.post("/v1/follow-ups", "LogFollowUp", "Log a follow-up (call, email, meeting, visit, other)", status=201),
    api.get("/v1/follow-ups", "ListFollowUps", "List follow-ups in scope (newest first)", items="follow_ups"),
    api.post("/v1/check-ins", "CheckIn", "Check in at a customer; far or imprecise readings are flagged", status=201),
    api.get("/v1/check-ins", "ListVisits", "List visits in scope", items="visits"),
    api.post("/v1/check-ins/{visit_id}/check-out", "CheckOut", "Check out of an open visit"),
    api.post("/v1/tasks", "CreateTask", "Create a task for oneself or someone in scope", status=201),
    api.get("/v1/tasks", "ListTasks", "List tasks in scope or created by the caller", items="tasks"),
    api.post("/v1/tasks/{task_id}/accept", "AcceptTask", "Accept a task assigned to you", body=""),
    api.post("/v1/tasks/{task_id}/reject", "RejectTask", "Reject a task assigned to you, with a reason"),
    api.post("/v1/tasks/{task_id}/complete", "CompleteTask", "Complete an accepted task", body=""),
    api.post("/v1/daily-reports", "SubmitDailyReport", "Submit today's report (on time until the unit's deadline, then late)", status=201),
    api.get("/v1/daily-reports", "ListDailyReports", "List daily reports in scope", items="reports"),
    api.post(R + "/falsify", "FalsifyDailyReport", "Mark a report falsified (managers)"),
    api.post(R + "/comments", "AddReportComment", "Comment on a report (its reviewing managers, or the rep)", status=201),
    api.get(R + "/comments", "ListReportComments", "A report's comments, oldest first", items="comments"),
    api.get("/v1/calendar", "GetCalendar", "Schedules of a user or a team in a window (from, to: RFC 3339); others' private entries as busy time", items="entries", rename={"from": "window_start", "to": "window_end"}),
    api.get("/v1/daily-report-compliance", "GetDailyReportCompliance", "Report compliance per rep and for the team"),
    api.get("/v1/policy-ledger", "GetPolicyLedger", "Late / missing / falsified counts and amounts per rep"),
    api.put("/v1/unit-policies/{unit_id}", "SetUnitPolicy", "Set a unit's own check-in radius, report deadline and fines (unset values are inherited from the nearest ancestor)", body="overrides"),
    api.get("/v1/unit-policies/{unit_id}", "GetUnitPolicy", "A unit's overrides and the policy in effect there"),
    news.post("/v1/announcements", "PublishAnnouncement", "Publish an announcement to an org unit and its subtree (announcements:publish over the unit); it reaches each person's inbox", status=201),
    news.get("/v1/announcements", "ListAnnouncements", "mine=true: those addressed to the caller (unread=true: unread only); else those published within the caller's publish scope. Newest first.", items="announcements", rename={"unread": "unread_only"}),
    news.get(N, "GetAnnouncement", "Read an announcement (a recipient, or a publisher in scope)"),
    news.post(N + "/read", "MarkAnnouncementRead", "Mark it read: the caller's read receipt", body=""),
    news.get(N + "/receipts", "GetReadReceipts", "Read receipts: counts and each recipient's read time (publish scope over the unit)"),
    inbox.get("/v1/inbox", "ListInbox", "The caller's notices, newest first; team=true: the owners' copies of notices about records in the caller's activities scope", items="items", rename={"unread": "unread_only"}),
    inbox.get("/v1/inbox/unread-count", "CountUnread", "How many of the caller's notices are unread, by kind"),
    inbox.post("/v1/inbox/{item_id}/read", "MarkRead", "Mark one of the caller's notices read", body=""),
    inbox.post("/v1/inbox/read-all", "MarkAllRead", "Mark all the caller's notices (of one kind) read", body="", query=("kind",)),
    checks.get("/v1/spot-checks", "ListSpotChecks", "Weekly follow-up spot checks: mine=true the caller's queue, else those of reps in the caller's activities scope", items="spot_checks", rename={"mine": "assigned_to_me"}),
    checks.post("/v1/spot-checks/{spot_check_id}/verdict", "VerifySpotCheck", "The assigned sales administrator finds the follow-up true or false (a note is required when false; the unit's falsified fine applies)"),
    checks.get("/v1/falsification-ledger", "GetFalsificationLedger", "Falsifications (虚报) of reps in scope: follow-ups found false and daily reports marked falsified, with fines and per-rep totals", rename={"from": "from_date", "to": "to_date"}),
]
# fmt: on
