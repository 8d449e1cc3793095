"""/v1/quotes/{id}/discount-approval, /v1/quote-approvals and /v1/org-units/{id}/discount-policy:
special-discount approval (特批折扣) of quotes, and the units' thresholds (pipeline service)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import STRING, OpenApi, obj, path_param
from salesgrid_gateway.routes.common import json_body, page

blueprint = Blueprint("quote_approvals", __name__)


def _approvals() -> pb_grpc.QuoteApprovalsStub:
    return stub(pb_grpc.QuoteApprovalsStub, "pipeline_addr")


def _body() -> dict:  # type: ignore[type-arg]
    return json_body() if request.content_length else {}


def _decide(quote_id: str, approve: bool) -> Response:
    return jsonify(to_json(call(_approvals().DecideQuoteDiscount, from_json(
        pb.DecideQuoteDiscountRequest, _body(), quote_id=quote_id, approve=approve))))


@blueprint.post("/v1/quotes/<quote_id>/discount-approval/approve")
def approve_discount(quote_id: str) -> Response:
    return _decide(quote_id, True)


@blueprint.post("/v1/quotes/<quote_id>/discount-approval/reject")
def reject_discount(quote_id: str) -> Response:
    return _decide(quote_id, False)


@blueprint.get("/v1/quote-approvals")
def pending_approvals() -> Response:
    reply = call(_approvals().ListPendingQuoteApprovals, pb.ListPendingQuoteApprovalsRequest())
    return jsonify(page([to_json(q) for q in reply.quotes], ""))


@blueprint.get("/v1/org-units/<unit_id>/discount-policy")
def get_policy(unit_id: str) -> Response:
    return jsonify(to_json(call(_approvals().GetDiscountPolicy, pb.GetDiscountPolicyRequest(org_unit_id=unit_id))))


@blueprint.put("/v1/org-units/<unit_id>/discount-policy")
def put_policy(unit_id: str) -> Response:
    return jsonify(to_json(call(_approvals().SetDiscountPolicy, from_json(
        pb.DiscountPolicy, json_body(), org_unit_id=unit_id))))


PERCENT = {"type": "string", "description": "decimal percentage, 0-100"}
POLICY = obj(org_unit_id=STRING, threshold_percent=PERCENT, director_above_percent=PERCENT,
             inherited={"type": "boolean"})


def describe(api: OpenApi) -> None:
    t = "pipeline"
    quote = [path_param("quote_id")]
    api.operation("/v1/quotes/{quote_id}/discount-approval/approve", "post",
                  "Approve the special discount (特批折扣) of a quote: the current approver's step (quotes:approve)",
                  tag=t, parameters=quote, request=obj(comment=STRING))
    api.operation("/v1/quotes/{quote_id}/discount-approval/reject", "post",
                  "Reject the special discount of a quote (comment required); the quote cannot be accepted",
                  tag=t, parameters=quote, request=obj(["comment"], comment=STRING))
    api.operation("/v1/quote-approvals", "get", "Quotes whose special discount waits on the caller's decision",
                  tag=t)
    unit = [path_param("unit_id")]
    api.operation("/v1/org-units/{unit_id}/discount-policy", "get",
                  "The special-discount thresholds in force for a unit (its own, inherited, or the default)",
                  tag=t, response=POLICY, parameters=unit)
    api.operation("/v1/org-units/{unit_id}/discount-policy", "put",
                  "Set a unit's special-discount thresholds (org_units:update); its subtree inherits them",
                  tag=t, response=POLICY, parameters=unit, request=obj(
                      ["threshold_percent", "director_above_percent"], threshold_percent=PERCENT,
                      director_above_percent=PERCENT))
