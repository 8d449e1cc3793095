"""/v1/spot-checks (每周抽查) and /v1/falsification-ledger (虚报), served by the activities service."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.activities.v1 import spot_checks_pb2 as pb
from salesgrid.activities.v1 import spot_checks_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import expected_version, json_body, page, page_size, require_fields
from salesgrid_gateway.routes.inbox import _flag

blueprint = Blueprint("spot_checks", __name__)


def _spot_checks() -> pb_grpc.SpotChecksStub:
    return stub(pb_grpc.SpotChecksStub, "activities_addr")


@blueprint.get("/v1/spot-checks")
def list_spot_checks() -> Response:
    reply = call(_spot_checks().ListSpotChecks, pb.ListSpotChecksRequest(
        assigned_to_me=_flag("mine"), verdict=request.args.get("verdict", ""), week=request.args.get("week", ""),
        rep_id=request.args.get("rep_id", ""), page_size=page_size(), page_token=request.args.get("cursor", "")))
    return jsonify(page([to_json(c) for c in reply.spot_checks], reply.next_page_token))


@blueprint.post("/v1/spot-checks/<spot_check_id>/verdict")
def verify(spot_check_id: str) -> Response:
    body = json_body()
    require_fields(body, "verdict")
    return jsonify(to_json(call(_spot_checks().VerifySpotCheck, pb.VerifySpotCheckRequest(
        id=spot_check_id, verdict=str(body["verdict"]), note=str(body.get("note") or ""),
        expected_version=expected_version(body, required=False)))))


@blueprint.get("/v1/falsification-ledger")
def ledger() -> Response:
    return jsonify(to_json(call(_spot_checks().GetFalsificationLedger, pb.GetFalsificationLedgerRequest(
        from_date=request.args.get("from", ""), to_date=request.args.get("to", ""),
        rep_id=request.args.get("rep_id", "")))))


DATE_TIME = {"type": "string", "format": "date-time"}
SPOT_CHECK = obj(id=STRING, follow_up_id=STRING, week=STRING, rep_id=STRING, verifier_id=STRING, verdict=STRING,
                 note=STRING, fine=STRING, currency=STRING, assigned_at=DATE_TIME, verified_at=DATE_TIME,
                 version=INTEGER)


def describe(api: OpenApi) -> None:
    t = "spot_checks"
    api.operation("/v1/spot-checks", "get", "Weekly follow-up spot checks: mine=true the caller's queue, else "
                  "those of reps in the caller's activities scope", tag=t,
                  response=obj(items={"type": "array", "items": SPOT_CHECK}, next_cursor=STRING),
                  parameters=[query_param("mine", BOOLEAN), query_param("verdict"), query_param("week"),
                              query_param("rep_id"), query_param("limit", INTEGER), query_param("cursor")])
    api.operation("/v1/spot-checks/{spot_check_id}/verdict", "post", "The assigned sales administrator finds the "
                  "follow-up true or false (a note is required when false; the unit's falsified fine applies)",
                  tag=t, response=SPOT_CHECK, parameters=[path_param("spot_check_id")],
                  request=obj(["verdict"], verdict={"type": "string", "enum": ["true", "false"]}, note=STRING,
                              version=INTEGER))
    api.operation("/v1/falsification-ledger", "get", "Falsifications (虚报) of reps in scope: follow-ups found "
                  "false and daily reports marked falsified, with fines and per-rep totals", tag=t,
                  parameters=[query_param("from"), query_param("to"), query_param("rep_id")],
                  response=obj(entries={"type": "array", "items": obj(
                      rep_id=STRING, kind=STRING, record_id=STRING, found_at=DATE_TIME, fine=STRING,
                      currency=STRING)}, reps={"type": "array", "items": obj(
                          rep_id=STRING, count=INTEGER, total=STRING, currency=STRING)}))
