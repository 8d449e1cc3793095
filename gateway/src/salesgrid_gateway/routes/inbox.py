"""/v1/inbox: the caller's notices (served by the activities service), for the console and partners."""

from __future__ import annotations

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Inbox", "activities_addr", tag="inbox")
hint(
    "salesgrid.activities.v1.InboxItem",
    title={"description": "the notice in English (the fallback; render kind + params to translate)"},
    params={
        "description": "the facts the title is made of, by name, fixed per kind (see the Inbox proto's InboxItem): "
        "e.g. sla_overdue {stage, due_date}, instalment_overdue {number, seq, due_date, outstanding, currency}, "
        "expense_approval {total, currency, reminder}; empty on notices stored before parameters existed",
    },
)

ROUTES = [
    api.get(
        "/v1/inbox",
        "ListInbox",
        "The caller's notices, newest first; team=true: the owners' copies of "
        "notices about records in the caller's activities scope",
        items="items",
        rename={"unread": "unread_only"},
    ),
    api.get("/v1/inbox/unread-count", "CountUnread", "How many of the caller's notices are unread, by kind"),
    api.post("/v1/inbox/{item_id}/read", "MarkRead", "Mark one of the caller's notices read", body=""),
    api.post(
        "/v1/inbox/read-all",
        "MarkAllRead",
        "Mark all the caller's notices (of one kind) read",
        body="",
        query=("kind",),
    ),
]
