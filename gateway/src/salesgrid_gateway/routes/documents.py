"""Printed documents (收据必须通过系统打印; 合同采用公司统一文本), served by the contracts service:
POST …/print answers the PDF itself. The first print of a receipt (or of a contract revision) is
the original and is kept as the record's attachment; each later print is a copy marked 副本 / COPY.
X-Document-Number and X-Copy-Number (0: the original) describe the print."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request

from salesgrid.contracts.v1 import documents_pb2 as pb
from salesgrid.contracts.v1 import documents_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.openapi import INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.routes.common import json_body

blueprint = Blueprint("documents", __name__)


def _documents() -> pb_grpc.DocumentsStub:
    return stub(pb_grpc.DocumentsStub, "contracts_addr")


def _pdf(printed: pb.PrintedDocument) -> Response:
    response = Response(printed.content, mimetype="application/pdf")
    name = printed.document.file_name if not printed.copy_number else \
        f"{printed.document.number}-copy-{printed.copy_number}.pdf"
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Document-Number"] = printed.document.number
    response.headers["X-Copy-Number"] = str(printed.copy_number)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/v1/receipts/<receipt_id>/print")
def print_receipt(receipt_id: str) -> Response:
    body = json_body() if request.content_length else {}
    payer = body.get("payer_name", "")
    if not isinstance(payer, str):
        raise ApiProblem(400, "payer_name must be text", errors=[{"field": "payer_name", "message": "text"}])
    return _pdf(call(_documents().PrintReceipt, pb.PrintReceiptRequest(receipt_id=receipt_id, payer_name=payer)))


@blueprint.post("/v1/contracts/<contract_id>/print")
def print_contract(contract_id: str) -> Response:
    return _pdf(call(_documents().PrintContract, pb.PrintContractRequest(contract_id=contract_id)))


@blueprint.get("/v1/documents")
def list_documents() -> Response:
    subject = request.args.get("subject_id", "")
    reply = call(_documents().ListDocuments, pb.ListDocumentsRequest(subject_id=subject))
    return jsonify({"items": [to_json(d) for d in reply.documents]})


DOCUMENT = obj(id=STRING, kind=STRING, subject_id=STRING, revision=INTEGER, contract_id=STRING, number=STRING,
               file_name=STRING, content_type=STRING, size_bytes=INTEGER, sha256=STRING, copies=INTEGER,
               printed_by=STRING, printed_at={"type": "string", "format": "date-time"})


def describe(api: OpenApi) -> None:
    t = "documents"
    api.operation("/v1/receipts/{receipt_id}/print", "post",
                  "Print a receipt as a numbered PDF (<BRANCH>-<YEAR>-R<SEQ>, gap-free per branch and year) under "
                  "the company letterhead; payer_name (交款人) is required the first time; later prints are "
                  "copies marked 副本 / COPY (payments:create over the receipt). Answers application/pdf.", tag=t,
                  request=obj(payer_name=STRING), parameters=[path_param("receipt_id")])
    api.operation("/v1/contracts/{contract_id}/print", "post",
                  "Print a contract from the company's standard template (approved or later; contracts:read). "
                  "The first print of each revision is the original, later ones copies. Answers application/pdf.",
                  tag=t, parameters=[path_param("contract_id")])
    api.operation("/v1/documents", "get", "The originals kept for a receipt or a contract (metadata)", tag=t,
                  response=obj(items={"type": "array", "items": DOCUMENT}),
                  parameters=[query_param("subject_id")])
