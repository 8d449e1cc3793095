"""/v1/inbox: the caller's notices (served by the activities service), for the console and partners."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.common import page, page_size

blueprint = Blueprint("inbox", __name__)


def _inbox() -> pb_grpc.InboxStub:
    return stub(pb_grpc.InboxStub, "activities_addr")


def _flag(name: str) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise ApiProblem(400, f"{name} must be true or false", errors=[{"field": name, "message": "true or false"}])
    return raw == "true"


@blueprint.get("/v1/inbox")
def list_inbox() -> Response:
    reply = call(_inbox().ListInbox, pb.ListInboxRequest(
        page_size=page_size(), page_token=request.args.get("cursor", ""), unread_only=_flag("unread"),
        kind=request.args.get("kind", ""), team=_flag("team")))
    return jsonify(page([to_json(item) for item in reply.items], reply.next_page_token))


@blueprint.get("/v1/inbox/unread-count")
def unread_count() -> Response:
    return jsonify(to_json(call(_inbox().CountUnread, pb.CountUnreadRequest())))


@blueprint.post("/v1/inbox/<item_id>/read")
def mark_read(item_id: str) -> Response:
    return jsonify(to_json(call(_inbox().MarkRead, pb.MarkReadRequest(id=item_id))))


@blueprint.post("/v1/inbox/read-all")
def mark_all_read() -> Response:
    return jsonify(to_json(call(_inbox().MarkAllRead, pb.MarkAllReadRequest(kind=request.args.get("kind", "")))))


DATE_TIME = {"type": "string", "format": "date-time"}
# The kinds and record types are the activities service's (inbox.proto); it validates them.
KIND = {"type": "string", "description": "sla_overdue, sla_escalated, pool_return_warning, ownership_decided, "
        "share_requested, share_request_decided, instalment_overdue, task_reminder, task_overdue, expense_approval, "
        "expense_settled, announcement, spot_check_assigned, spot_check_false, webhook_disabled"}
ITEM = obj(id=STRING, recipient_id=STRING, kind=KIND, title=STRING, subject_owner_id=STRING,
           record=obj(type=STRING, id=STRING),
           occurred_at=DATE_TIME, read=BOOLEAN, read_at=DATE_TIME)


def describe(api: OpenApi) -> None:
    t = "inbox"
    api.operation("/v1/inbox", "get", "The caller's notices, newest first (cursor paging); team=true: the "
                  "owners' copies of notices about records in the caller's activities scope", tag=t,
                  response=obj(items={"type": "array", "items": ITEM}, next_cursor=STRING), parameters=[
                      query_param("unread", BOOLEAN), query_param("kind", KIND), query_param("team", BOOLEAN),
                      query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/inbox/unread-count", "get", "How many of the caller's notices are unread, by kind", tag=t,
                  response=obj(unread=INTEGER, by_kind={"type": "object", "additionalProperties": INTEGER}))
    api.operation("/v1/inbox/{item_id}/read", "post", "Mark one of the caller's notices read", tag=t,
                  response=ITEM, parameters=[path_param("item_id")])
    api.operation("/v1/inbox/read-all", "post", "Mark all the caller's notices (of one kind) read", tag=t,
                  response=obj(marked=INTEGER), parameters=[query_param("kind", KIND)])
