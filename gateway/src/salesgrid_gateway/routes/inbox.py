"""/v1/inbox: the caller's notices (served by the activities service), for the console and partners."""

from __future__ import annotations

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Inbox", "activities_addr", tag="inbox")

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
