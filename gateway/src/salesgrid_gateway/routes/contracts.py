"""/v1/products, /v1/contracts (+ approval actions, amendments, versions, attachments, payment plan
and printing), /v1/contract-templates, /v1/approval-rules, /v1/receipts, /v1/refunds, /v1/invoices,
/v1/receivables, /v1/documents: the contracts service. Money amounts travel as decimal strings
("1234.50"), dates as "YYYY-MM-DD".

Printed documents (收据必须通过系统打印; 合同采用公司统一文本): POST …/print answers the PDF itself. The
first print of a receipt (or of a contract revision) is the original and is kept as the record's
attachment; each later print is a copy marked 副本 / COPY. X-Document-Number and X-Copy-Number (0:
the original) describe the print."""

from __future__ import annotations

from urllib.parse import quote

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import documents_pb2
from salesgrid.contracts.v1 import documents_pb2_grpc
from salesgrid_gateway.clients import call, stub
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.rest.table import Service, view
from salesgrid_gateway.web import Response

api = Service(pb, "Contracts", "contracts_addr", tag="contracts")
documents = Service(documents_pb2, "Documents", "contracts_addr", tag="documents")


def _documents() -> documents_pb2_grpc.DocumentsStub:
    return stub(documents.stub_class, documents.address_setting)


def _pdf(printed: documents_pb2.PrintedDocument) -> Response:
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


async def print_receipt(receipt_id: str) -> Response:
    inputs.reject_nul(receipt_id, "receipt_id")
    body = inputs.json_body(optional=True)
    payer = body.get("payer_name", "")
    if not isinstance(payer, str):
        raise ApiProblem(400, "payer_name must be text", errors=[{"field": "payer_name", "message": "text"}])
    return _pdf(
        await call(
            _documents().PrintReceipt, documents_pb2.PrintReceiptRequest(receipt_id=receipt_id, payer_name=payer)
        )
    )


async def print_contract(contract_id: str) -> Response:
    inputs.reject_nul(contract_id, "contract_id")
    return _pdf(await call(_documents().PrintContract, documents_pb2.PrintContractRequest(contract_id=contract_id)))


PRINT = {
    "tag": "documents",
    "response_types": ("application/pdf",),
    "headers": ("Content-Disposition", "X-Document-Number", "X-Copy-Number"),
}
PAYER = {"type": "object", "properties": {"payer_name": {"type": "string"}}}
K = "/v1/contracts/{contract_id}"
# fmt: off
ROUTES = [
    api.post("/v1/products", "CreateProduct", "Create a product with list prices per currency", status=201),
    api.patch("/v1/products/{product_id}", "UpdateProduct", "Rename, reprice or (de)activate a product (If-Match)", if_match="required"),
    api.get("/v1/products", "ListProducts", "List products", items="products"),
    api.post("/v1/contracts", "CreateContract", "Create a draft contract for a customer (customer_id, currency and lines required) or from a won opportunity (they are copied); numbered per branch and year", status=201),
    api.get("/v1/contracts", "ListContracts", "List contracts in scope (newest first)", items="contracts"),
    api.get(K, "GetContract", "Read a contract"),
    api.get(K + "/versions", "ListContractVersions", "Every version of a contract (in force, superseded, proposed, rejected)"),
    api.post(K + "/submit", "SubmitContract", "Submit a draft for approval up the management chain", optional_body=True),
    api.post(K + "/approve", "ApproveContract", "Approve the current step (the approver whose turn it is)", optional_body=True),
    api.post(K + "/reject", "RejectContract", "Reject the current step with a comment", required=("comment",)),
    api.post(K + "/sign", "SignContract", "Sign an approved contract", optional_body=True),
    api.post(K + "/activate", "ActivateContract", "Activate a signed contract from its start date on", optional_body=True),
    api.post(K + "/complete", "CompleteContract", "Complete an active contract once nothing is outstanding", optional_body=True),
    api.post(K + "/amend", "AmendContract", "Propose a new version of a signed or active contract (in force once approved)", status=202),
    api.post(K + "/terminate", "TerminateContract", "Request termination of a signed contract (goes through approval)", status=202),
    api.put(K + "/payment-plan", "SetPaymentPlan", "Set the instalments; they must sum to the contract total"),
    api.get(K + "/payment-plan", "GetPaymentPlan", "Read the payment plan with amounts paid"),
    api.post(K + "/attachments", "AddAttachment", "Attach a document reference (drafts only; later through an amendment)", status=201, body="attachment"),
    api.get(K + "/attachments", "GetContract", "A contract's attachment references", items="attachments"),
    api.delete(K + "/attachments/{document_id}", "RemoveAttachment", "Remove a document reference (drafts only)"),
    api.put("/v1/contract-templates/{template_id}", "SetContractTemplate", "Store a new version of a standard contract template (catalogue admins)"),
    api.get("/v1/contract-templates/{template_id}", "GetContractTemplate", "A template's latest (or given) version"),
    api.put("/v1/approval-rules/{unit_id}", "SetApprovalRules", "Set an org unit's approval thresholds (admin; the nearest unit up a contract owner's path wins)", rename={"unit_id": "org_unit_id"}),
    api.get("/v1/approval-rules/{unit_id}", "GetApprovalRules", "An org unit's own approval thresholds, else the defaults", rename={"unit_id": "org_unit_id"}),
    api.post("/v1/receipts", "RecordReceipt", "Record a receipt (回款), allocated oldest instalment first; any excess is kept as credit", status=201),
    api.get("/v1/receipts", "ListReceipts", "List receipts in scope", items="receipts"),
    api.post("/v1/refunds", "RecordRefund", "Record a refund (never more than collected net of refunds)", status=201),
    api.get("/v1/refunds", "ListRefunds", "List refunds in scope", items="refunds"),
    api.post("/v1/invoices", "IssueInvoice", "Issue an invoice (invoiced total never above the contract total)", status=201),
    api.get("/v1/invoices", "ListInvoices", "List invoices in scope", items="invoices"),
    api.get("/v1/receivables", "GetReceivables", "Outstanding amounts per contract, customer, owner or org unit (in the caller's scope)"),
    api.get("/v1/receivables/ageing", "GetAgeing", "Ageing buckets (not due, 1-30, 31-60, 61-90, >90 days)"),
    view("POST", "/v1/receipts/{receipt_id}/print", print_receipt, "Print a receipt as a numbered PDF (<BRANCH>-<YEAR>-R<SEQ>, gap-free per branch and year) under the company letterhead; payer_name (交款人) is required the first time; later prints are copies marked 副本 / COPY (payments:create over the receipt). Answers application/pdf.", optional_body=True, request_schema=PAYER, **PRINT),
    view("POST", K + "/print", print_contract, "Print a contract from the company's standard template (approved or later; contracts:read). The first print of each revision is the original, later ones copies. Answers application/pdf.", **PRINT),
    documents.get("/v1/documents", "ListDocuments", "The originals kept for a receipt or a contract (metadata)", items="documents"),
]
# fmt: on
