"""Sales channels (销售渠道): /v1/customers/{id}/partner-profile and /v1/partners (channel partners
are customer accounts; customers service) and /v1/analytics/channels (channel and partner
performance; analytics service). Opportunities and contracts carry `channel` and `partner_id`
in their own routes."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.analytics.v1 import analytics_pb2_grpc as apb_grpc
from salesgrid.customers.v1 import partners_pb2 as pb
from salesgrid.customers.v1 import partners_pb2_grpc as pb_grpc
from salesgrid_common.channels import CHANNELS, PARTNER_CHANNELS, PARTNER_TIERS
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.analytics import _query
from salesgrid_gateway.routes.common import expected_version, json_body, page, page_size, with_etag

blueprint = Blueprint("channels", __name__)


def _partners() -> pb_grpc.ChannelPartnersStub:
    return stub(pb_grpc.ChannelPartnersStub, "customers_addr")


@blueprint.put("/v1/customers/<customer_id>/partner-profile")
def set_partner_profile(customer_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    customer = call(_partners().SetPartnerProfile, from_json(pb.SetPartnerProfileRequest, body,
                                                             customer_id=customer_id, expected_version=version))
    return with_etag(to_json(customer), customer.version)


@blueprint.get("/v1/partners")
def list_partners() -> Response:
    reply = call(_partners().ListPartners, pb.ListPartnersRequest(
        channel=request.args.get("channel", ""), tier=request.args.get("tier", ""), page_size=page_size(),
        cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(c) for c in reply.customers], reply.next_cursor))


@blueprint.get("/v1/analytics/channels")
def channel_performance() -> Response:
    analytics = stub(apb_grpc.AnalyticsStub, "analytics_addr")
    return jsonify(to_json(call(analytics.GetChannelPerformance, _query())))


def describe(api: OpenApi) -> None:
    api.operation("/v1/customers/{customer_id}/partner-profile", "put",
                  "Make an account a channel partner (agent or distributor) with its partner tier and partner "
                  "agreement (a contract of the account), or end the partnership with an empty channel "
                  "(If-Match required)", tag="customers", parameters=[path_param("customer_id")],
                  request=obj(channel={"enum": ["", *PARTNER_CHANNELS]}, tier={"enum": list(PARTNER_TIERS)},
                              contract_id=STRING))
    api.operation("/v1/partners", "get", "Channel partners in the caller's customer scope (cursor paging)",
                  tag="customers", parameters=[query_param("channel", {"enum": list(PARTNER_CHANNELS)}),
                                               query_param("tier", {"enum": list(PARTNER_TIERS)}),
                                               query_param("limit", INTEGER), query_param("cursor")])
    line = obj(rank=INTEGER, key=STRING, channel={"enum": list(CHANNELS)}, contract_amount=STRING,
               contracts=INTEGER, collected=STRING, won=INTEGER, lost=INTEGER, win_rate=STRING)
    api.operation("/v1/analytics/channels", "get", "Channel (by=channel) or partner (by=partner) performance in "
                  "scope: contract amount, collections, won/lost and win rate, ranked by contract amount",
                  tag="analytics", response=obj(period=STRING, currency=STRING,
                                                by={"enum": ["channel", "partner"]},
                                                lines={"type": "array", "items": line}, total=line),
                  parameters=[query_param("period"), query_param("from"), query_param("to"),
                              query_param("subtree"), query_param("rep_id"), query_param("currency"),
                              query_param("time_zone"), query_param("by", {"enum": ["channel", "partner"]})])
