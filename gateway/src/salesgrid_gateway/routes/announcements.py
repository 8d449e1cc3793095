"""/v1/announcements (新闻公告发布), served by the activities service: publish to an org unit and its
subtree within one's announcements:publish scope, read, and read receipts for the publisher."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.activities.v1 import announcements_pb2 as pb
from salesgrid.activities.v1 import announcements_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import json_body, page, page_size, require_fields
from salesgrid_gateway.routes.inbox import _flag

blueprint = Blueprint("announcements", __name__)


def _announcements() -> pb_grpc.AnnouncementsStub:
    return stub(pb_grpc.AnnouncementsStub, "activities_addr")


@blueprint.post("/v1/announcements")
def publish() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "unit_id", "title", "body")
    reply = call(_announcements().PublishAnnouncement, from_json(pb.PublishAnnouncementRequest, body))
    return jsonify(to_json(reply)), 201


@blueprint.get("/v1/announcements")
def list_announcements() -> Response:
    reply = call(_announcements().ListAnnouncements, pb.ListAnnouncementsRequest(
        mine=_flag("mine"), unread_only=_flag("unread"), page_size=page_size(),
        page_token=request.args.get("cursor", "")))
    return jsonify(page([to_json(a) for a in reply.announcements], reply.next_page_token))


@blueprint.get("/v1/announcements/<announcement_id>")
def get_announcement(announcement_id: str) -> Response:
    return jsonify(to_json(call(_announcements().GetAnnouncement, pb.GetAnnouncementRequest(id=announcement_id))))


@blueprint.post("/v1/announcements/<announcement_id>/read")
def mark_read(announcement_id: str) -> Response:
    return jsonify(to_json(call(_announcements().MarkAnnouncementRead,
                                pb.GetAnnouncementRequest(id=announcement_id))))


@blueprint.get("/v1/announcements/<announcement_id>/receipts")
def receipts(announcement_id: str) -> Response:
    return jsonify(to_json(call(_announcements().GetReadReceipts, pb.GetAnnouncementRequest(id=announcement_id))))


DATE_TIME = {"type": "string", "format": "date-time"}
ANNOUNCEMENT = obj(id=STRING, publisher_id=STRING, unit_id=STRING, org_path=STRING, title=STRING, body=STRING,
                   published_at=DATE_TIME, recipients=INTEGER, read_count=INTEGER, read=BOOLEAN, read_at=DATE_TIME)


def describe(api: OpenApi) -> None:
    t = "announcements"
    one = [path_param("announcement_id")]
    api.operation("/v1/announcements", "post", "Publish an announcement to an org unit and its subtree "
                  "(announcements:publish over the unit); it reaches each person's inbox", tag=t, status=201,
                  request=obj(["unit_id", "title", "body"], unit_id=STRING, title=STRING, body=STRING),
                  response=ANNOUNCEMENT)
    api.operation("/v1/announcements", "get", "mine=true: those addressed to the caller (unread=true: unread "
                  "only); else those published within the caller's publish scope. Newest first.", tag=t,
                  response=obj(items={"type": "array", "items": ANNOUNCEMENT}, next_cursor=STRING),
                  parameters=[query_param("mine", BOOLEAN), query_param("unread", BOOLEAN),
                              query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/announcements/{announcement_id}", "get", "Read an announcement (a recipient, or a "
                  "publisher in scope)", tag=t, response=ANNOUNCEMENT, parameters=one)
    api.operation("/v1/announcements/{announcement_id}/read", "post", "Mark it read: the caller's read receipt",
                  tag=t, response=ANNOUNCEMENT, parameters=one)
    api.operation("/v1/announcements/{announcement_id}/receipts", "get", "Read receipts: counts and each "
                  "recipient's read time (publish scope over the unit)", tag=t, parameters=one,
                  response=obj(announcement_id=STRING, recipients=INTEGER, read=INTEGER, unread=INTEGER,
                               receipts={"type": "array", "items": obj(user_id=STRING, read=BOOLEAN,
                                                                       read_at=DATE_TIME)}))
