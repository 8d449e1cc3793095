"""/v1/expense-claims (+ receipts and the approval actions) and /v1/expense-policies. Money amounts
travel as decimal strings ("1234.50"), dates as "YYYY-MM-DD"; a receipt is the raw request body
(image/jpeg, image/png or application/pdf) with its file name in the `file_name` query parameter."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid.expenses.v1 import expenses_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.common import expected_version, json_body, page, page_size, require_fields, with_etag

blueprint = Blueprint("expenses", __name__)
# The service checks type and content; the gateway refuses what cannot be a receipt before reading it.
RECEIPT_TYPES = ("image/jpeg", "image/png", "application/pdf")
MAX_RECEIPT_BYTES = 5 << 20


def _expenses() -> pb_grpc.ExpensesStub:
    return stub(pb_grpc.ExpensesStub, "expenses_addr")


def _versioned_body() -> dict:
    body = json_body() if request.content_length else {}
    version = expected_version(body, required=False)
    return body | {"expected_version": version} if version else body


def _claim_reply(claim: pb.ExpenseClaim, status: int = 200) -> tuple[Response, int]:
    return with_etag(to_json(claim), claim.version, status)


@blueprint.post("/v1/expense-claims")
def create_claim() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "currency", "lines")
    return _claim_reply(call(_expenses().CreateClaim, from_json(pb.CreateClaimRequest, body)), 201)


@blueprint.get("/v1/expense-claims")
def list_claims() -> Response:
    reply = call(_expenses().ListClaims, pb.ListClaimsRequest(
        status=request.args.get("status", ""), owner_id=request.args.get("owner_id", ""), page_size=page_size(),
        cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(c) for c in reply.claims], reply.next_cursor))


@blueprint.get("/v1/expense-claims/<claim_id>")
def get_claim(claim_id: str) -> tuple[Response, int]:
    return _claim_reply(call(_expenses().GetClaim, pb.GetClaimRequest(id=claim_id)))


@blueprint.post("/v1/expense-claims/<claim_id>/lines/<int:line_no>/receipts")
def add_receipt(claim_id: str, line_no: int) -> tuple[Response, int]:
    if request.mimetype not in RECEIPT_TYPES:
        raise ApiProblem(415, f"send the receipt as {', '.join(RECEIPT_TYPES)}")
    if request.content_length is None or request.content_length > MAX_RECEIPT_BYTES:
        raise ApiProblem(413, f"a receipt is at most {MAX_RECEIPT_BYTES} bytes (send Content-Length)")
    version = expected_version({}, required=False)
    return _claim_reply(call(_expenses().AddReceipt, pb.AddReceiptRequest(
        claim_id=claim_id, line_no=line_no, file_name=request.args.get("file_name", ""),
        content_type=request.mimetype, content=request.get_data(), expected_version=version)), 201)


@blueprint.get("/v1/expense-claims/<claim_id>/receipts/<receipt_id>")
def get_receipt(claim_id: str, receipt_id: str) -> Response:
    reply = call(_expenses().GetReceipt, pb.GetReceiptRequest(claim_id=claim_id, receipt_id=receipt_id))
    response = Response(reply.content, mimetype=reply.receipt.content_type)
    # RFC 6266/5987: receipts are often named in Chinese, which a plain header cannot carry.
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(reply.receipt.file_name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blueprint.post("/v1/expense-claims/<claim_id>/submit")
def submit_claim(claim_id: str) -> tuple[Response, int]:
    return _claim_reply(call(_expenses().SubmitClaim, from_json(pb.ClaimActionRequest, _versioned_body(),
                                                                id=claim_id)))


@blueprint.post("/v1/expense-claims/<claim_id>/approve")
def approve_claim(claim_id: str) -> tuple[Response, int]:
    return _claim_reply(call(_expenses().ApproveClaim, from_json(pb.ClaimDecisionRequest, _versioned_body(),
                                                                 id=claim_id)))


@blueprint.post("/v1/expense-claims/<claim_id>/reject")
def reject_claim(claim_id: str) -> tuple[Response, int]:
    body = _versioned_body()
    require_fields(body, "comment")
    return _claim_reply(call(_expenses().RejectClaim, from_json(pb.ClaimDecisionRequest, body, id=claim_id)))


@blueprint.post("/v1/expense-claims/<claim_id>/pay")
def pay_claim(claim_id: str) -> tuple[Response, int]:
    body = _versioned_body()
    require_fields(body, "paid_on", "payment_reference")
    return _claim_reply(call(_expenses().PayClaim, from_json(pb.PayClaimRequest, body, id=claim_id)))


@blueprint.put("/v1/expense-policies/<unit_id>")
def set_policy(unit_id: str) -> Response:
    body = json_body()
    require_fields(body, "currency")
    return jsonify(to_json(call(_expenses().SetPolicy, from_json(pb.ExpensePolicy, body, org_unit_id=unit_id))))


@blueprint.get("/v1/expense-policies/<unit_id>")
def get_policy(unit_id: str) -> Response:
    return jsonify(to_json(call(_expenses().GetPolicy, pb.GetPolicyRequest(org_unit_id=unit_id))))


MONEY = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "decimal amount, e.g. 1234.50"}
DATE = {"type": "string", "format": "date"}
CATEGORY = {"type": "string", "enum": ["travel", "communication", "entertainment", "other"]}
LINE_IN = obj(["category", "spent_on", "amount"], category=CATEGORY, spent_on=DATE, amount=MONEY,
              description=STRING, visit_id=STRING, customer_id=STRING, opportunity_id=STRING)
RECEIPT = obj(id=STRING, line_no=INTEGER, file_name=STRING, content_type=STRING, size_bytes=INTEGER, sha256=STRING)
CLAIM = obj(id=STRING, owner_id=STRING, org_path=STRING, title=STRING, currency=STRING, total=MONEY,
            status={"type": "string", "enum": ["draft", "submitted", "approved", "rejected", "paid"]},
            lines={"type": "array", "items": obj(line_no=INTEGER, category=CATEGORY, spent_on=DATE, amount=MONEY,
                                                 description=STRING, visit_id=STRING, customer_id=STRING,
                                                 opportunity_id=STRING)},
            receipts={"type": "array", "items": RECEIPT}, payment_reference=STRING, paid_on=DATE,
            approval_steps={"type": "array", "items": obj(order=INTEGER, role=STRING, approver_id=STRING,
                                                          status=STRING, comment=STRING)}, version=INTEGER)
POLICY = obj(["currency"], currency=STRING, director_above=MONEY, source_unit_id=STRING,
             limits={"type": "array", "items": obj(["category", "daily_limit"], category=CATEGORY,
                                                   daily_limit=MONEY)})


def describe(api: OpenApi) -> None:
    t = "expenses"
    claim_path = [path_param("claim_id")]
    api.operation("/v1/expense-claims", "post", "File a draft expense claim of your own (费用报销单)", tag=t,
                  status=201, response=CLAIM, request=obj(["currency", "lines"], title=STRING, currency=STRING,
                                                          lines={"type": "array", "items": LINE_IN}))
    api.operation("/v1/expense-claims", "get", "List expense claims in scope (newest first, keyset paging)", tag=t,
                  parameters=[query_param("status"), query_param("owner_id"), query_param("limit", INTEGER),
                              query_param("cursor")])
    api.operation("/v1/expense-claims/{claim_id}", "get", "Read an expense claim", tag=t, response=CLAIM,
                  parameters=claim_path)
    api.operation("/v1/expense-claims/{claim_id}/lines/{line_no}/receipts", "post",
                  "Attach a receipt to a line of a draft: the body is the file (JPEG, PNG or PDF, at most 5 MiB)",
                  tag=t, status=201, response=CLAIM,
                  parameters=[*claim_path, {"name": "line_no", "in": "path", "required": True, "schema": INTEGER},
                              query_param("file_name")])
    api.operation("/v1/expense-claims/{claim_id}/receipts/{receipt_id}", "get", "Download a receipt", tag=t,
                  parameters=[*claim_path, path_param("receipt_id")])
    for action, summary, body in [
            ("submit", "Submit a draft (a receipt on every line, within the daily limits) for approval",
             obj(expected_version=INTEGER)),
            ("approve", "Approve the current step (the approver whose turn it is; never the owner)",
             obj(comment=STRING, expected_version=INTEGER)),
            ("reject", "Reject the current step with a comment", obj(["comment"], comment=STRING,
                                                                     expected_version=INTEGER)),
            ("pay", "Pay out an approved claim (finance)", obj(["paid_on", "payment_reference"], paid_on=DATE,
                                                             payment_reference=STRING, expected_version=INTEGER))]:
        api.operation(f"/v1/expense-claims/{{claim_id}}/{action}", "post", summary, tag=t, response=CLAIM,
                      request=body, parameters=claim_path)
    api.operation("/v1/expense-policies/{unit_id}", "put", "Set an org unit's expense policy (admin): daily "
                  "limits per category, director approval above an amount; inherited down the org tree",
                  tag=t, request=POLICY, response=POLICY, parameters=[path_param("unit_id")])
    api.operation("/v1/expense-policies/{unit_id}", "get", "The expense policy in force for a unit (its own, an "
                  "ancestor's or the defaults)", tag=t, response=POLICY, parameters=[path_param("unit_id")])
