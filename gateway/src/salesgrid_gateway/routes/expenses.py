"""/v1/expense-claims (+ receipts and the approval actions) and /v1/expense-policies. Money amounts
travel as decimal strings ("1234.50"), dates as "YYYY-MM-DD"; a receipt is the raw request body
(image/jpeg, image/png or application/pdf) with its file name in the `file_name` query parameter."""

from __future__ import annotations

from urllib.parse import quote

from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.routes.common import with_etag
from salesgrid_gateway.web import Response, request

api = Service(pb, "Expenses", "expenses_addr", tag="expenses")
# The service checks type and content; the gateway refuses what cannot be a receipt before reading it.
RECEIPT_TYPES = ("image/jpeg", "image/png", "application/pdf")
MAX_RECEIPT_BYTES = 5 << 20


def _expenses():  # type: ignore[no-untyped-def]
    return stub(api.stub_class, api.address_setting)


async def add_receipt(claim_id: str, line_no: int) -> Response:
    if request.mimetype not in RECEIPT_TYPES:
        raise ApiProblem(415, f"send the receipt as {', '.join(RECEIPT_TYPES)}")
    if request.content_length is None or request.content_length > MAX_RECEIPT_BYTES:
        raise ApiProblem(413, f"a receipt is at most {MAX_RECEIPT_BYTES} bytes (send Content-Length)")
    inputs.reject_nul(claim_id, "claim_id")
    if not 0 <= line_no < 2**31:
        raise inputs.bad("line_no", "is not a line of the claim")
    file_name = request.args.get("file_name", "")
    inputs.reject_nul(file_name, "file_name")
    version = inputs.if_match({}, required=False)
    if version >= 2**31:  # the claim's version is an int32: no claim has this one
        raise inputs.bad("If-Match", "is not a version of this claim")
    claim = await call(
        _expenses().AddReceipt,
        pb.AddReceiptRequest(
            claim_id=claim_id,
            line_no=line_no,
            file_name=file_name,
            content_type=request.mimetype,
            content=request.get_data(),
            expected_version=version,
        ),
    )
    return with_etag(to_json(claim), claim.version, 201)


async def get_receipt(claim_id: str, receipt_id: str) -> Response:
    reply = await call(_expenses().GetReceipt, pb.GetReceiptRequest(claim_id=claim_id, receipt_id=receipt_id))
    response = Response(reply.content, mimetype=reply.receipt.content_type)
    # RFC 6266/5987: receipts are often named in Chinese, which a plain header cannot carry.
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(reply.receipt.file_name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


CLAIM, E = {"$ref": "#/components/schemas/salesgrid.expenses.v1.ExpenseClaim"}, "/v1/expense-claims/{claim_id}"
FILE_NAME = {"name": "file_name", "in": "query", "required": False, "schema": {"type": "string"}}
# fmt: off
ROUTES = [
    api.post("/v1/expense-claims", "CreateClaim", "File a draft expense claim of your own (费用报销单)", status=201),
    api.get("/v1/expense-claims", "ListClaims", "List expense claims in scope (newest first)", items="claims"),
    api.get(E, "GetClaim", "Read an expense claim"),
    # line_no: int32 in the message, larger numbers are refused (400)
    view("POST", E + "/lines/{line_no}/receipts", add_receipt, "Attach a receipt to a line of a draft: the body is the file (JPEG, PNG or PDF, at most 5 MiB)", tag="expenses", status=201, converters={"line_no": "int"}, request_types=RECEIPT_TYPES, response_schema=CLAIM, if_match="optional", parameters=(FILE_NAME,), headers=("ETag",), messages=(pb.ExpenseClaim,)),
    view("GET", E + "/receipts/{receipt_id}", get_receipt, "Download a receipt", tag="expenses", response_types=RECEIPT_TYPES, headers=("Content-Disposition",)),
    api.post(E + "/submit", "SubmitClaim", "Submit a draft (a receipt on every line, within the daily limits) for approval", optional_body=True),
    api.post(E + "/approve", "ApproveClaim", "Approve the current step (the approver whose turn it is; never the owner)", optional_body=True),
    api.post(E + "/reject", "RejectClaim", "Reject the current step with a comment", required=("comment",)),
    api.post(E + "/pay", "PayClaim", "Pay out an approved claim (finance)"),
    api.put("/v1/expense-policies/{unit_id}", "SetPolicy", "Set an org unit's expense policy (admin): daily limits per category, director approval above an amount; inherited down the org tree", rename={"unit_id": "org_unit_id"}),
    api.get("/v1/expense-policies/{unit_id}", "GetPolicy", "The expense policy in force for a unit (its own, an ancestor's or the defaults)", rename={"unit_id": "org_unit_id"}),
]
# fmt: on
