"""Printed documents (收据必须通过系统打印; 合同采用公司统一文本), served by the contracts service:
POST …/print answers the PDF itself. The first print of a receipt (or of a contract revision) is
the original and is kept as the record's attachment; each later print is a copy marked 副本 / COPY.
X-Document-Number and X-Copy-Number (0: the original) describe the print."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid.contracts.v1 import documents_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.table import Service, view

api = Service(pb, "Documents", "contracts_addr", tag="documents")


def _documents() -> pb_grpc.DocumentsStub:
    return stub(api.stub_class, api.address_setting)


def _pdf(printed: pb.PrintedDocument) -> Response:
    response = Response(printed.content, mimetype="application/pdf")
    name = (
        printed.document.file_name
        if not printed.copy_number
        else f"{printed.document.number}-copy-{printed.copy_number}.pdf"
    )
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Document-Number"] = printed.document.number
    response.headers["X-Copy-Number"] = str(printed.copy_number)
    response.headers["Cache-Control"] = "no-store"
    return response


def print_receipt(receipt_id: str) -> Response:
    inputs.reject_nul(receipt_id, "receipt_id")
    body = inputs.json_body(optional=True)
    payer = body.get("payer_name", "")
    if not isinstance(payer, str):
        raise ApiProblem(400, "payer_name must be text", errors=[{"field": "payer_name", "message": "text"}])
    return _pdf(call(_documents().PrintReceipt, pb.PrintReceiptRequest(receipt_id=receipt_id, payer_name=payer)))


def print_contract(contract_id: str) -> Response:
    inputs.reject_nul(contract_id, "contract_id")
    return _pdf(call(_documents().PrintContract, pb.PrintContractRequest(contract_id=contract_id)))


PDF = ("application/pdf",)
PRINT_HEADERS = ("Content-Disposition", "X-Document-Number", "X-Copy-Number")
ROUTES = [
    view(
        "POST",
        "/v1/receipts/{receipt_id}/print",
        print_receipt,
        "Print a receipt as a numbered PDF "
        "(<BRANCH>-<YEAR>-R<SEQ>, gap-free per branch and year) under the company letterhead; payer_name (交款人) "
        "is required the first time; later prints are copies marked 副本 / COPY (payments:create over the "
        "receipt). Answers application/pdf.",
        tag="documents",
        response_types=PDF,
        headers=PRINT_HEADERS,
        optional_body=True,
        request_schema={"type": "object", "properties": {"payer_name": {"type": "string"}}},
    ),
    view(
        "POST",
        "/v1/contracts/{contract_id}/print",
        print_contract,
        "Print a contract from the company's "
        "standard template (approved or later; contracts:read). The first print of each revision is the "
        "original, later ones copies. Answers application/pdf.",
        tag="documents",
        response_types=PDF,
        headers=PRINT_HEADERS,
    ),
    api.get(
        "/v1/documents", "ListDocuments", "The originals kept for a receipt or a contract (metadata)", items="documents"
    ),
]
