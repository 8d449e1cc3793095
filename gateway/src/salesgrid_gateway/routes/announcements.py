"""/v1/announcements (新闻公告发布), served by the activities service: publish to an org unit and its
subtree within one's announcements:publish scope, read, and read receipts for the publisher."""

from __future__ import annotations

from salesgrid.activities.v1 import announcements_pb2 as pb

from salesgrid_gateway.rest.table import Service

api = Service(pb, "Announcements", "activities_addr", tag="announcements")

ROUTES = [
    api.post(
        "/v1/announcements",
        "PublishAnnouncement",
        "Publish an announcement to an org unit and its subtree "
        "(announcements:publish over the unit); it reaches each person's inbox",
        status=201,
        required=("unit_id", "title", "body"),
    ),
    api.get(
        "/v1/announcements",
        "ListAnnouncements",
        "mine=true: those addressed to the caller (unread=true: "
        "unread only); else those published within the caller's publish scope. Newest first.",
        items="announcements",
        rename={"unread": "unread_only"},
    ),
    api.get(
        "/v1/announcements/{announcement_id}",
        "GetAnnouncement",
        "Read an announcement (a recipient, or a publisher in scope)",
    ),
    api.post(
        "/v1/announcements/{announcement_id}/read",
        "MarkAnnouncementRead",
        "Mark it read: the caller's read receipt",
        body="",
    ),
    api.get(
        "/v1/announcements/{announcement_id}/receipts",
        "GetReadReceipts",
        "Read receipts: counts and each recipient's read time (publish scope over the unit)",
    ),
]
