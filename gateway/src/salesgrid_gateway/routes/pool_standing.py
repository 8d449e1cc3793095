"""/v1/pool/standing: the public-pool policy in force for the caller and where he stands under it
(caps left, cool-downs), so a rep sees them before he claims (customers service)."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify
from salesgrid.customers.v1 import pool_standing_pb2 as pb
from salesgrid.customers.v1 import pool_standing_pb2_grpc as pb_grpc

from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj

blueprint = Blueprint("pool_standing", __name__)


@blueprint.get("/v1/pool/standing")
def my_pool_standing() -> Response:
    reply = call(stub(pb_grpc.PoolStandingStub, "customers_addr").GetMyPoolStanding, pb.GetMyPoolStandingRequest())
    return jsonify(to_json(reply))


DATE_TIME = {"type": "string", "format": "date-time"}
POLICY = obj(unit_id=STRING, max_customers_per_rep=INTEGER, max_claims_per_day=INTEGER,
             reclaim_cooldown_days=INTEGER, return_after_days_without_follow_up=INTEGER,
             return_after_days_without_opportunity=INTEGER, return_after_days_without_deal=INTEGER,
             warning_days_before=INTEGER, inherited=BOOLEAN, source_unit_id=STRING)
STANDING = obj(policy=POLICY, held_count=INTEGER, claims_today=INTEGER,
               customers_left={**INTEGER, "description": "absent: no cap"},
               claims_left_today={**INTEGER, "description": "absent: no cap"}, can_claim=BOOLEAN,
               cool_downs={"type": "array", "items": obj(customer_id=STRING, legal_name=STRING,
                                                         claimable_from=DATE_TIME)},
               time_zone=STRING)


def describe(api: OpenApi) -> None:
    api.operation("/v1/pool/standing", "get", "The public-pool policy in force for the caller (his unit's or the "
                  "nearest ancestor's), his customers held and claims today against its caps, and the pool "
                  "customers he released that he may not claim back yet (pool:read; only about the caller)",
                  tag="customers", response=STANDING)
