"""/v1/customers/{id}/share-requests and /v1/share-requests: ask the owner of a customer one
cannot see to share it; the owner or his manager accepts or declines (customers service)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.customers.v1 import share_requests_pb2 as pb
from salesgrid.customers.v1 import share_requests_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import json_body, page, page_size

blueprint = Blueprint("share_requests", __name__)


def _requests() -> pb_grpc.ShareRequestsStub:
    return stub(pb_grpc.ShareRequestsStub, "customers_addr")


def _body() -> dict:  # type: ignore[type-arg]
    return json_body() if request.content_length else {}


@blueprint.post("/v1/customers/<customer_id>/share-requests")
def request_share(customer_id: str) -> tuple[Response, int]:
    made = call(_requests().RequestShare, from_json(pb.RequestShareRequest, _body(), customer_id=customer_id))
    return jsonify(to_json(made)), 201


@blueprint.get("/v1/share-requests")
def list_share_requests() -> Response:
    reply = call(_requests().ListShareRequests, pb.ListShareRequestsRequest(
        box=request.args.get("box", ""), status=request.args.get("status", ""), page_size=page_size(),
        cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(r) for r in reply.requests], reply.next_cursor))


@blueprint.get("/v1/share-requests/<request_id>")
def get_share_request(request_id: str) -> Response:
    return jsonify(to_json(call(_requests().GetShareRequest, pb.GetShareRequestRequest(id=request_id))))


def _decide(request_id: str, accept: bool) -> Response:
    body = _body()
    return jsonify(to_json(call(_requests().DecideShareRequest, from_json(
        pb.DecideShareRequestRequest, body, id=request_id, accept=accept))))


@blueprint.post("/v1/share-requests/<request_id>/accept")
def accept_share_request(request_id: str) -> Response:
    return _decide(request_id, True)


@blueprint.post("/v1/share-requests/<request_id>/decline")
def decline_share_request(request_id: str) -> Response:
    return _decide(request_id, False)


DATE_TIME = {"type": "string", "format": "date-time"}
PERSON = obj(user_id=STRING, display_name=STRING, unit_id=STRING, unit_name=STRING)
SHARE_REQUEST = obj(id=STRING, customer_id=STRING, customer_name=STRING, requester=PERSON, owner=PERSON,
                    role={"enum": ["co_owner", "collaborator"]}, message=STRING,
                    status={"enum": ["pending", "accepted", "declined"]}, decided_by=PERSON, decision_note=STRING,
                    created_at=DATE_TIME, decided_at=DATE_TIME)


def describe(api: OpenApi) -> None:
    t = "customers"
    api.operation("/v1/customers/{customer_id}/share-requests", "post",
                  "Ask the owner of a customer (e.g. a blocking duplicate) to share it with you", tag=t, status=201,
                  response=SHARE_REQUEST, parameters=[path_param("customer_id")],
                  request=obj(role={"enum": ["co_owner", "collaborator"], "default": "collaborator"},
                              message=STRING))
    api.operation("/v1/share-requests", "get", "Share requests to decide (box=incoming) or made (box=outgoing)",
                  tag=t, parameters=[query_param("box", {"enum": ["incoming", "outgoing"]}),
                                     query_param("status", {"enum": ["pending", "accepted", "declined"]}),
                                     query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/share-requests/{request_id}", "get", "Read a share request (requester, owner, manager)",
                  tag=t, response=SHARE_REQUEST, parameters=[path_param("request_id")])
    for verb, summary in (("accept", "Accept: the customer is shared with the requester"),
                          ("decline", "Decline a share request")):
        api.operation(f"/v1/share-requests/{{request_id}}/{verb}", "post", f"{summary} (owner or his manager)",
                      tag=t, response=SHARE_REQUEST, parameters=[path_param("request_id")], request=obj(note=STRING))
