"""/v1/products, /v1/contracts (+ approval actions, amendments, versions, attachments and payment
plan), /v1/contract-templates, /v1/approval-rules, /v1/receipts, /v1/refunds, /v1/invoices,
/v1/receivables. Money amounts travel as decimal strings ("1234.50"), dates as "YYYY-MM-DD"."""

from __future__ import annotations

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Contracts", "contracts_addr", tag="contracts")
MONEY = {"pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "decimal amount, e.g. 1234.50"}
DATE = {"format": "date"}
GROUP_BY = {"enum": ["contract", "customer", "owner", "unit"]}
hint("salesgrid.contracts.v1.CreateContractRequest", start_date=DATE, end_date=DATE)
hint(
    "salesgrid.contracts.v1.RecordReceiptRequest",
    amount=MONEY,
    received_on=DATE,
    method={"enum": ["bank_transfer", "cash", "cheque", "card", "other"]},
)
hint("salesgrid.contracts.v1.RecordRefundRequest", amount=MONEY, refunded_on=DATE)
hint("salesgrid.contracts.v1.IssueInvoiceRequest", amount=MONEY, issued_on=DATE)
hint("salesgrid.contracts.v1.InstalmentInput", amount=MONEY, due_date=DATE)
hint("salesgrid.contracts.v1.AttachmentRef", sha256={"pattern": "^[0-9a-f]{64}$"})
hint(
    "salesgrid.contracts.v1.ApprovalThreshold",
    up_to={
        "pattern": r"^([0-9]+(\.[0-9]+)?)?$",
        "description": "decimal amount; empty on the top tier (no upper bound)",
    },
)
hint("salesgrid.contracts.v1.GetReceivablesRequest", group_by=GROUP_BY)
hint("salesgrid.contracts.v1.GetAgeingRequest", group_by=GROUP_BY, as_of=DATE)

ROUTES = [
    api.post(
        "/v1/products",
        "CreateProduct",
        "Create a product with list prices per currency",
        status=201,
        required=("sku", "name"),
    ),
    api.patch(
        "/v1/products/{product_id}",
        "UpdateProduct",
        "Rename, reprice or (de)activate a product (If-Match)",
        if_match="required",
    ),
    api.get("/v1/products", "ListProducts", "List products", items="products"),
    api.post(
        "/v1/contracts",
        "CreateContract",
        "Create a draft contract for a customer (customer_id, currency and "
        "lines required) or from a won opportunity (they are copied); numbered per branch and year",
        status=201,
        required=("branch_code", "start_date", "end_date"),
    ),
    api.get("/v1/contracts", "ListContracts", "List contracts in scope (newest first)", items="contracts"),
    api.get("/v1/contracts/{contract_id}", "GetContract", "Read a contract"),
    api.get(
        "/v1/contracts/{contract_id}/versions",
        "ListContractVersions",
        "Every version of a contract (in force, superseded, proposed, rejected)",
    ),
    api.post(
        "/v1/contracts/{contract_id}/submit",
        "SubmitContract",
        "Submit a draft for approval up the management chain",
        optional_body=True,
    ),
    api.post(
        "/v1/contracts/{contract_id}/approve",
        "ApproveContract",
        "Approve the current step (the approver whose turn it is)",
        optional_body=True,
    ),
    api.post(
        "/v1/contracts/{contract_id}/reject",
        "RejectContract",
        "Reject the current step with a comment",
        required=("comment",),
    ),
    api.post("/v1/contracts/{contract_id}/sign", "SignContract", "Sign an approved contract", optional_body=True),
    api.post(
        "/v1/contracts/{contract_id}/activate",
        "ActivateContract",
        "Activate a signed contract from its start date on",
        optional_body=True,
    ),
    api.post(
        "/v1/contracts/{contract_id}/complete",
        "CompleteContract",
        "Complete an active contract once nothing is outstanding",
        optional_body=True,
    ),
    api.post(
        "/v1/contracts/{contract_id}/amend",
        "AmendContract",
        "Propose a new version of a signed or active contract (in force once approved)",
        status=202,
    ),
    api.post(
        "/v1/contracts/{contract_id}/terminate",
        "TerminateContract",
        "Request termination of a signed contract (goes through approval)",
        status=202,
        required=("reason",),
    ),
    api.put(
        "/v1/contracts/{contract_id}/payment-plan",
        "SetPaymentPlan",
        "Set the instalments; they must sum to the contract total",
        required=("instalments",),
    ),
    api.get("/v1/contracts/{contract_id}/payment-plan", "GetPaymentPlan", "Read the payment plan with amounts paid"),
    api.post(
        "/v1/contracts/{contract_id}/attachments",
        "AddAttachment",
        "Attach a document reference (drafts only; later through an amendment)",
        status=201,
        body="attachment",
        required=("document_id", "file_name", "content_type", "size_bytes", "sha256"),
    ),
    api.get(
        "/v1/contracts/{contract_id}/attachments",
        "GetContract",
        "A contract's attachment references",
        items="attachments",
    ),
    api.delete(
        "/v1/contracts/{contract_id}/attachments/{document_id}",
        "RemoveAttachment",
        "Remove a document reference (drafts only)",
    ),
    api.put(
        "/v1/contract-templates/{template_id}",
        "SetContractTemplate",
        "Store a new version of a standard contract template (catalogue admins)",
        required=("name", "terms"),
    ),
    api.get("/v1/contract-templates/{template_id}", "GetContractTemplate", "A template's latest (or given) version"),
    api.put(
        "/v1/approval-rules/{unit_id}",
        "SetApprovalRules",
        "Set an org unit's approval thresholds (admin; the nearest unit up a contract owner's path wins)",
        rename={"unit_id": "org_unit_id"},
        required=("currency", "thresholds"),
    ),
    api.get(
        "/v1/approval-rules/{unit_id}",
        "GetApprovalRules",
        "An org unit's own approval thresholds, else the defaults",
        rename={"unit_id": "org_unit_id"},
    ),
    api.post(
        "/v1/receipts",
        "RecordReceipt",
        "Record a receipt (回款), allocated oldest instalment first; any excess is kept as credit",
        status=201,
        required=("contract_id", "amount"),
    ),
    api.get("/v1/receipts", "ListReceipts", "List receipts in scope", items="receipts"),
    api.post(
        "/v1/refunds",
        "RecordRefund",
        "Record a refund (never more than collected net of refunds)",
        status=201,
        required=("contract_id", "amount", "reason"),
    ),
    api.get("/v1/refunds", "ListRefunds", "List refunds in scope", items="refunds"),
    api.post(
        "/v1/invoices",
        "IssueInvoice",
        "Issue an invoice (invoiced total never above the contract total)",
        status=201,
        required=("contract_id", "number", "amount"),
    ),
    api.get("/v1/invoices", "ListInvoices", "List invoices in scope", items="invoices"),
    api.get(
        "/v1/receivables",
        "GetReceivables",
        "Outstanding amounts per contract, customer, owner or org unit (in the caller's scope)",
    ),
    api.get("/v1/receivables/ageing", "GetAgeing", "Ageing buckets (not due, 1-30, 31-60, 61-90, >90 days)"),
]
