"""/v1/products, /v1/contracts (+ approval actions, amendments, versions, attachments and payment plan),
/v1/contract-templates,
/v1/receipts, /v1/refunds, /v1/invoices, /v1/receivables. Money amounts travel as decimal strings ("1234.50"), dates as "YYYY-MM-DD"."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.custom_fields import CUSTOM_FIELDS_REF, custom_field_filters, document_filters
from salesgrid_gateway.routes.common import expected_version, json_body, page, page_size, require_fields, with_etag

blueprint = Blueprint("contracts", __name__)


def _contracts() -> pb_grpc.ContractsStub:
    return stub(pb_grpc.ContractsStub, "contracts_addr")


def _optional_body() -> dict:
    return json_body() if request.content_length else {}


def _versioned_body() -> dict:
    """The body with `expected_version` from If-Match (or `version`) when the client sent one."""
    body = _optional_body()
    version = expected_version(body, required=False)
    return body | {"expected_version": version} if version else body


def _contract_reply(contract: pb.Contract, status: int = 200) -> tuple[Response, int]:
    return with_etag(to_json(contract), contract.version, status)


# --- products ----------------------------------------------------------------------------------

@blueprint.post("/v1/products")
def create_product() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "sku", "name")
    return jsonify(to_json(call(_contracts().CreateProduct, from_json(pb.CreateProductRequest, body)))), 201


@blueprint.patch("/v1/products/<product_id>")
def update_product(product_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    if "prices" in body:
        body["set_prices"] = True
    product = call(_contracts().UpdateProduct, from_json(pb.UpdateProductRequest, body, id=product_id,
                                                         expected_version=version))
    return with_etag(to_json(product), product.version)


@blueprint.get("/v1/products")
def list_products() -> Response:
    reply = call(_contracts().ListProducts, pb.ListProductsRequest(
        include_inactive=request.args.get("include_inactive", "false") == "true"))
    return jsonify(page([to_json(p) for p in reply.products], ""))


# --- contracts ---------------------------------------------------------------------------------

@blueprint.post("/v1/contracts")
def create_contract() -> tuple[Response, int]:
    body = json_body()
    # From a won opportunity, its customer, currency and amount are copied.
    copied = () if body.get("opportunity_id") else ("customer_id", "currency", "lines")
    require_fields(body, "branch_code", "start_date", "end_date", *copied)
    return jsonify(to_json(call(_contracts().CreateContract, from_json(pb.CreateContractRequest, body)))), 201


@blueprint.get("/v1/contracts")
def list_contracts() -> Response:
    reply = call(_contracts().ListContracts, pb.ListContractsRequest(
        customer_id=request.args.get("customer_id", ""), status=request.args.get("status", ""),
        page_size=page_size(), cursor=request.args.get("cursor", ""), custom_fields=custom_field_filters()))
    return jsonify(page([to_json(c) for c in reply.contracts], reply.next_cursor))


@blueprint.get("/v1/contracts/<contract_id>")
def get_contract(contract_id: str) -> tuple[Response, int]:
    return _contract_reply(call(_contracts().GetContract, pb.GetContractRequest(id=contract_id)))


@blueprint.get("/v1/contracts/<contract_id>/versions")
def list_contract_versions(contract_id: str) -> Response:
    return jsonify(to_json(call(_contracts().ListContractVersions, pb.GetContractRequest(id=contract_id))))


@blueprint.post("/v1/contracts/<contract_id>/submit")
def submit_contract(contract_id: str) -> tuple[Response, int]:
    message = from_json(pb.ContractActionRequest, _versioned_body(), id=contract_id)
    return _contract_reply(call(_contracts().SubmitContract, message))


@blueprint.post("/v1/contracts/<contract_id>/approve")
def approve_contract(contract_id: str) -> tuple[Response, int]:
    message = from_json(pb.ContractDecisionRequest, _versioned_body(), id=contract_id)
    return _contract_reply(call(_contracts().ApproveContract, message))


@blueprint.post("/v1/contracts/<contract_id>/activate")
def activate_contract(contract_id: str) -> tuple[Response, int]:
    message = from_json(pb.ContractActionRequest, _versioned_body(), id=contract_id)
    return _contract_reply(call(_contracts().ActivateContract, message))


@blueprint.post("/v1/contracts/<contract_id>/complete")
def complete_contract(contract_id: str) -> tuple[Response, int]:
    message = from_json(pb.ContractActionRequest, _versioned_body(), id=contract_id)
    return _contract_reply(call(_contracts().CompleteContract, message))


@blueprint.post("/v1/contracts/<contract_id>/amend")
def amend_contract(contract_id: str) -> tuple[Response, int]:
    message = from_json(pb.AmendContractRequest, _versioned_body(), id=contract_id)
    return _contract_reply(call(_contracts().AmendContract, message), 202)  # in force once approved


@blueprint.post("/v1/contracts/<contract_id>/reject")
def reject_contract(contract_id: str) -> Response:
    body = json_body()
    require_fields(body, "comment")
    return jsonify(to_json(call(_contracts().RejectContract,
                                from_json(pb.ContractDecisionRequest, body, id=contract_id))))


@blueprint.post("/v1/contracts/<contract_id>/sign")
def sign_contract(contract_id: str) -> Response:
    message = from_json(pb.SignContractRequest, _optional_body(), id=contract_id)
    return jsonify(to_json(call(_contracts().SignContract, message)))


@blueprint.post("/v1/contracts/<contract_id>/terminate")
def terminate_contract(contract_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "reason")
    reply = call(_contracts().TerminateContract, from_json(pb.TerminateContractRequest, body, id=contract_id))
    return jsonify(to_json(reply)), 202  # takes effect once the termination is approved


@blueprint.put("/v1/contracts/<contract_id>/payment-plan")
def set_payment_plan(contract_id: str) -> Response:
    body = json_body()
    require_fields(body, "instalments")
    message = from_json(pb.SetPaymentPlanRequest, body, contract_id=contract_id)
    return jsonify(to_json(call(_contracts().SetPaymentPlan, message)))


@blueprint.get("/v1/contracts/<contract_id>/payment-plan")
def get_payment_plan(contract_id: str) -> Response:
    return jsonify(to_json(call(_contracts().GetPaymentPlan, pb.GetPaymentPlanRequest(contract_id=contract_id))))


# --- attachments and templates -------------------------------------------------------------------

@blueprint.post("/v1/contracts/<contract_id>/attachments")
def add_attachment(contract_id: str) -> tuple[Response, int]:
    body = _versioned_body()
    require_fields(body, "document_id", "file_name", "content_type", "size_bytes", "sha256")
    version = body.pop("expected_version", 0)
    message = pb.AddAttachmentRequest(contract_id=contract_id, expected_version=version,
                                      attachment=from_json(pb.AttachmentRef, body))
    return _contract_reply(call(_contracts().AddAttachment, message), 201)


@blueprint.get("/v1/contracts/<contract_id>/attachments")
def list_attachments(contract_id: str) -> Response:
    contract = call(_contracts().GetContract, pb.GetContractRequest(id=contract_id))
    return jsonify(page([to_json(a) for a in contract.attachments], ""))


@blueprint.delete("/v1/contracts/<contract_id>/attachments/<document_id>")
def remove_attachment(contract_id: str, document_id: str) -> tuple[Response, int]:
    version = _versioned_body().get("expected_version", 0)
    return _contract_reply(call(_contracts().RemoveAttachment, pb.RemoveAttachmentRequest(
        contract_id=contract_id, document_id=document_id, expected_version=version)))


@blueprint.put("/v1/contract-templates/<template_id>")
def set_contract_template(template_id: str) -> Response:
    body = json_body()
    require_fields(body, "name", "terms")
    return jsonify(to_json(call(_contracts().SetContractTemplate,
                                from_json(pb.SetContractTemplateRequest, body, template_id=template_id))))


@blueprint.get("/v1/contract-templates/<template_id>")
def get_contract_template(template_id: str) -> Response:
    version = request.args.get("version", "0")
    return jsonify(to_json(call(_contracts().GetContractTemplate, pb.GetContractTemplateRequest(
        template_id=template_id, version=int(version) if version.isdigit() else -1))))


# --- approval rules (admin) ------------------------------------------------------------------------

@blueprint.put("/v1/approval-rules/<unit_id>")
def set_approval_rules(unit_id: str) -> Response:
    body = json_body()
    require_fields(body, "currency", "thresholds")
    return jsonify(to_json(call(_contracts().SetApprovalRules,
                                from_json(pb.SetApprovalRulesRequest, body, org_unit_id=unit_id))))


@blueprint.get("/v1/approval-rules/<unit_id>")
def get_approval_rules(unit_id: str) -> Response:
    return jsonify(to_json(call(_contracts().GetApprovalRules, pb.GetApprovalRulesRequest(org_unit_id=unit_id))))


# --- receipts and receivables --------------------------------------------------------------------

@blueprint.post("/v1/receipts")
def record_receipt() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "contract_id", "amount")
    return jsonify(to_json(call(_contracts().RecordReceipt, from_json(pb.RecordReceiptRequest, body)))), 201


@blueprint.get("/v1/receipts")
def list_receipts() -> Response:
    reply = call(_contracts().ListReceipts, pb.ListReceiptsRequest(
        contract_id=request.args.get("contract_id", ""), page_size=page_size(), cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(r) for r in reply.receipts], reply.next_cursor))


@blueprint.post("/v1/refunds")
def record_refund() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "contract_id", "amount", "reason")
    return jsonify(to_json(call(_contracts().RecordRefund, from_json(pb.RecordRefundRequest, body)))), 201


@blueprint.get("/v1/refunds")
def list_refunds() -> Response:
    reply = call(_contracts().ListRefunds, pb.ListRefundsRequest(
        contract_id=request.args.get("contract_id", ""), page_size=page_size(), cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(r) for r in reply.refunds], reply.next_cursor))


@blueprint.post("/v1/invoices")
def issue_invoice() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "contract_id", "number", "amount")
    return jsonify(to_json(call(_contracts().IssueInvoice, from_json(pb.IssueInvoiceRequest, body)))), 201


@blueprint.get("/v1/invoices")
def list_invoices() -> Response:
    reply = call(_contracts().ListInvoices, pb.ListInvoicesRequest(
        contract_id=request.args.get("contract_id", ""), page_size=page_size(), cursor=request.args.get("cursor", "")))
    return jsonify(page([to_json(r) for r in reply.invoices], reply.next_cursor))


@blueprint.get("/v1/receivables")
def receivables() -> Response:
    reply = call(_contracts().GetReceivables, pb.GetReceivablesRequest(group_by=request.args.get("group_by", "")))
    return jsonify(to_json(reply))


@blueprint.get("/v1/receivables/ageing")
def ageing() -> Response:
    reply = call(_contracts().GetAgeing, pb.GetAgeingRequest(as_of=request.args.get("as_of", ""),
                                                             group_by=request.args.get("group_by", "")))
    return jsonify(to_json(reply))


# --- OpenAPI -----------------------------------------------------------------------------------

MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": "decimal amount, e.g. 1234.50"}
DATE = {"type": "string", "format": "date"}
PRICE = obj(["currency", "amount"], currency=STRING, amount=MONEY)
LINE = obj(["product_id"], product_id=STRING, quantity=MONEY, unit_price=MONEY, discount_percent=MONEY,
           description=STRING)
ATTACHMENT = obj(["document_id", "file_name", "content_type", "size_bytes", "sha256"], document_id=STRING,
                 file_name=STRING, content_type=STRING, size_bytes=INTEGER,
                 sha256={"type": "string", "pattern": "^[0-9a-f]{64}$"})
CONTRACT = obj(id=STRING, number=STRING, customer_id=STRING, owner_id=STRING, currency=STRING, status=STRING,
               start_date=DATE, end_date=DATE, total=MONEY, credit=MONEY, approval_kind=STRING, version=INTEGER,
               template_id=STRING, template_version=INTEGER, attachments={"type": "array", "items": ATTACHMENT},
               lines={"type": "array", "items": LINE}, approval_steps={"type": "array", "items": obj(
                   order=INTEGER, role=STRING, approver_id=STRING, status=STRING, comment=STRING)},
               custom_fields=CUSTOM_FIELDS_REF)
PLAN = obj(contract_id=STRING, currency=STRING, credit=MONEY, instalments={"type": "array", "items": obj(
    seq=INTEGER, due_date=DATE, amount=MONEY, paid=MONEY, status=STRING)})
RECEIPT = obj(id=STRING, contract_id=STRING, received_on=DATE, amount=MONEY, currency=STRING, method=STRING,
              reference=STRING, allocations={"type": "array", "items": obj(instalment_seq=INTEGER, amount=MONEY)})
GROUP_BY = {"type": "string", "enum": ["contract", "customer", "owner", "unit"]}
TEMPLATE = obj(template_id=STRING, version=INTEGER, name=STRING, terms=STRING, updated_by=STRING)


def describe(api: OpenApi) -> None:
    t = "contracts"
    api.operation("/v1/products", "post", "Create a product with list prices per currency", tag=t, status=201,
                  request=obj(["sku", "name"], sku=STRING, name=STRING, prices={"type": "array", "items": PRICE}))
    api.operation("/v1/products/{product_id}", "patch", "Rename, reprice or (de)activate a product (If-Match)",
                  tag=t, parameters=[path_param("product_id")])
    api.operation("/v1/products", "get", "List products", tag=t,
                  parameters=[query_param("include_inactive", BOOLEAN)])
    api.operation("/v1/contracts", "post", "Create a draft contract for a customer or from a won opportunity "
                  "(numbered per branch and year)",
                  tag=t, status=201, response=CONTRACT, request=obj(
                      ["customer_id", "branch_code", "currency", "start_date", "end_date", "lines"],
                      customer_id=STRING, branch_code=STRING, currency=STRING, start_date=DATE, end_date=DATE,
                      terms=STRING, lines={"type": "array", "items": LINE}, opportunity_id=STRING,
                      template_id=STRING, attachments={"type": "array", "items": ATTACHMENT},
                      channel={"enum": ["direct", "agent", "distributor"],
                               "description": "sales channel; from an opportunity: the opportunity's"},
                      partner_id={"type": "string", "description": "agent/distributor: an active partner of "
                                                                   "that channel"},
                      custom_fields=CUSTOM_FIELDS_REF))
    paging = [query_param("limit", INTEGER), query_param("cursor")]
    api.operation("/v1/contracts", "get", "List contracts in scope (newest first, keyset paging)", tag=t,
                  parameters=[query_param("customer_id"), query_param("status"), *paging])
    document_filters(api, "/v1/contracts")
    api.operation("/v1/contracts/{contract_id}/versions", "get",
                  "Every version of a contract (in force, superseded, proposed, rejected)", tag=t,
                  parameters=[path_param("contract_id")])
    api.operation("/v1/contracts/{contract_id}/amend", "post",
                  "Propose a new version of a signed or active contract (in force once approved)", tag=t,
                  status=202, response=CONTRACT, request=obj(
                      lines={"type": "array", "items": LINE}, start_date=DATE, end_date=DATE, terms=STRING,
                      expected_version=INTEGER, set_attachments=BOOLEAN,
                      attachments={"type": "array", "items": ATTACHMENT}), parameters=[path_param("contract_id")])
    contract_path = [path_param("contract_id")]
    api.operation("/v1/contracts/{contract_id}/attachments", "post",
                  "Attach a document reference (drafts only; later through an amendment)", tag=t, status=201,
                  response=CONTRACT, request=ATTACHMENT, parameters=contract_path)
    api.operation("/v1/contracts/{contract_id}/attachments", "get", "A contract's attachment references", tag=t,
                  parameters=contract_path)
    api.operation("/v1/contracts/{contract_id}/attachments/{document_id}", "delete",
                  "Remove a document reference (drafts only)", tag=t, response=CONTRACT,
                  parameters=[*contract_path, path_param("document_id")])
    api.operation("/v1/contract-templates/{template_id}", "put",
                  "Store a new version of a standard contract template (catalogue admins)", tag=t,
                  request=obj(["name", "terms"], name=STRING, terms=STRING), response=TEMPLATE,
                  parameters=[path_param("template_id")])
    api.operation("/v1/contract-templates/{template_id}", "get", "A template's latest (or given) version", tag=t,
                  response=TEMPLATE, parameters=[path_param("template_id"), query_param("version", INTEGER)])
    api.operation("/v1/contracts/{contract_id}", "get", "Read a contract", tag=t, response=CONTRACT,
                  parameters=[path_param("contract_id")])
    version = obj(expected_version=INTEGER)
    for action, summary, body in [
            ("submit", "Submit a draft for approval up the management chain", version),
            ("approve", "Approve the current step (the approver whose turn it is)", obj(comment=STRING,
                                                                                      expected_version=INTEGER)),
            ("reject", "Reject the current step with a comment", obj(["comment"], comment=STRING,
                                                                     expected_version=INTEGER)),
            ("sign", "Sign an approved contract", obj(signed_on=DATE, expected_version=INTEGER)),
            ("activate", "Activate a signed contract from its start date on", version),
            ("complete", "Complete an active contract once nothing is outstanding", version)]:
        api.operation(f"/v1/contracts/{{contract_id}}/{action}", "post", summary, tag=t, response=CONTRACT,
                      request=body, parameters=[path_param("contract_id")])
    api.operation("/v1/contracts/{contract_id}/terminate", "post",
                  "Request termination of a signed contract (goes through approval)", tag=t, status=202,
                  response=CONTRACT, request=obj(["reason"], reason=STRING, expected_version=INTEGER),
                  parameters=[path_param("contract_id")])
    rules = obj(["currency", "thresholds"], currency=STRING, thresholds={"type": "array", "items": obj(
        ["role"], up_to=MONEY, role=STRING)})
    api.operation("/v1/approval-rules/{unit_id}", "put", "Set an org unit's approval thresholds (admin; the "
                  "nearest unit up a contract owner's path wins)", tag=t, request=rules, response=rules,
                  parameters=[path_param("unit_id")])
    api.operation("/v1/approval-rules/{unit_id}", "get", "An org unit's own approval thresholds, else the "
                  "defaults", tag=t, response=rules, parameters=[path_param("unit_id")])
    api.operation("/v1/contracts/{contract_id}/payment-plan", "put",
                  "Set the instalments; they must sum to the contract total", tag=t, response=PLAN,
                  request=obj(["instalments"], instalments={"type": "array", "items": obj(
                      ["due_date", "amount"], due_date=DATE, amount=MONEY)}),
                  parameters=[path_param("contract_id")])
    api.operation("/v1/contracts/{contract_id}/payment-plan", "get", "Read the payment plan with amounts paid",
                  tag=t, response=PLAN, parameters=[path_param("contract_id")])
    api.operation("/v1/receipts", "post", "Record a receipt (回款), allocated oldest instalment first; "
                  "any excess is kept as credit", tag=t, status=201, response=RECEIPT, request=obj(
                      ["contract_id", "amount"], contract_id=STRING, received_on=DATE, amount=MONEY,
                      method={"type": "string", "enum": ["bank_transfer", "cash", "cheque", "card", "other"]},
                      reference=STRING))
    api.operation("/v1/receipts", "get", "List receipts in scope", tag=t,
                  parameters=[query_param("contract_id"), *paging])
    api.operation("/v1/refunds", "post", "Record a refund (never more than collected net of refunds)", tag=t,
                  status=201, request=obj(["contract_id", "amount", "reason"], contract_id=STRING,
                                          refunded_on=DATE, amount=MONEY, reason=STRING))
    api.operation("/v1/refunds", "get", "List refunds in scope", tag=t,
                  parameters=[query_param("contract_id"), *paging])
    api.operation("/v1/invoices", "post", "Issue an invoice (invoiced total never above the contract total)",
                  tag=t, status=201, request=obj(["contract_id", "number", "amount"], contract_id=STRING,
                                                 number=STRING, amount=MONEY, issued_on=DATE))
    api.operation("/v1/invoices", "get", "List invoices in scope", tag=t,
                  parameters=[query_param("contract_id"), *paging])
    api.operation("/v1/receivables", "get", "Outstanding amounts per contract, customer, owner or org unit (in the caller's scope)", tag=t,
                  parameters=[query_param("group_by", GROUP_BY)])
    api.operation("/v1/receivables/ageing", "get", "Ageing buckets (not due, 1-30, 31-60, 61-90, >90 days)",
                  tag=t, parameters=[query_param("as_of", DATE), query_param("group_by", GROUP_BY)])
