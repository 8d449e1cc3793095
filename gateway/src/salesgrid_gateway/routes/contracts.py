"""/v1/products, /v1/contracts (+ approval actions and payment plan), /v1/receipts,
/v1/receivables. Money amounts travel as decimal strings ("1234.50"), dates as "YYYY-MM-DD"."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import json_body, page, require_fields

blueprint = Blueprint("contracts", __name__)


def _contracts() -> pb_grpc.ContractsStub:
    return stub(pb_grpc.ContractsStub, "contracts_addr")


def _optional_body() -> dict:
    return json_body() if request.content_length else {}


# --- products ----------------------------------------------------------------------------------

@blueprint.post("/v1/products")
def create_product() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "sku", "name")
    return jsonify(to_json(call(_contracts().CreateProduct, from_json(pb.CreateProductRequest, body)))), 201


@blueprint.get("/v1/products")
def list_products() -> Response:
    reply = call(_contracts().ListProducts, pb.ListProductsRequest(
        include_inactive=request.args.get("include_inactive", "false") == "true"))
    return jsonify(page([to_json(p) for p in reply.products], ""))


# --- contracts ---------------------------------------------------------------------------------

@blueprint.post("/v1/contracts")
def create_contract() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "customer_id", "branch_code", "currency", "start_date", "end_date", "lines")
    return jsonify(to_json(call(_contracts().CreateContract, from_json(pb.CreateContractRequest, body)))), 201


@blueprint.get("/v1/contracts")
def list_contracts() -> Response:
    reply = call(_contracts().ListContracts, pb.ListContractsRequest(
        customer_id=request.args.get("customer_id", ""), status=request.args.get("status", "")))
    return jsonify(page([to_json(c) for c in reply.contracts], ""))


@blueprint.get("/v1/contracts/<contract_id>")
def get_contract(contract_id: str) -> Response:
    return jsonify(to_json(call(_contracts().GetContract, pb.GetContractRequest(id=contract_id))))


@blueprint.post("/v1/contracts/<contract_id>/submit")
def submit_contract(contract_id: str) -> Response:
    message = from_json(pb.ContractActionRequest, _optional_body(), id=contract_id)
    return jsonify(to_json(call(_contracts().SubmitContract, message)))


@blueprint.post("/v1/contracts/<contract_id>/approve")
def approve_contract(contract_id: str) -> Response:
    message = from_json(pb.ContractDecisionRequest, _optional_body(), id=contract_id)
    return jsonify(to_json(call(_contracts().ApproveContract, message)))


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


# --- receipts and receivables --------------------------------------------------------------------

@blueprint.post("/v1/receipts")
def record_receipt() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "contract_id", "amount")
    return jsonify(to_json(call(_contracts().RecordReceipt, from_json(pb.RecordReceiptRequest, body)))), 201


@blueprint.get("/v1/receipts")
def list_receipts() -> Response:
    reply = call(_contracts().ListReceipts, pb.ListReceiptsRequest(contract_id=request.args.get("contract_id", "")))
    return jsonify(page([to_json(r) for r in reply.receipts], ""))


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
CONTRACT = obj(id=STRING, number=STRING, customer_id=STRING, owner_id=STRING, currency=STRING, status=STRING,
               start_date=DATE, end_date=DATE, total=MONEY, credit=MONEY, approval_kind=STRING, version=INTEGER,
               lines={"type": "array", "items": LINE}, approval_steps={"type": "array", "items": obj(
                   order=INTEGER, role=STRING, approver_id=STRING, status=STRING, comment=STRING)})
PLAN = obj(contract_id=STRING, currency=STRING, credit=MONEY, instalments={"type": "array", "items": obj(
    seq=INTEGER, due_date=DATE, amount=MONEY, paid=MONEY, status=STRING)})
RECEIPT = obj(id=STRING, contract_id=STRING, received_on=DATE, amount=MONEY, currency=STRING, method=STRING,
              reference=STRING, allocations={"type": "array", "items": obj(instalment_seq=INTEGER, amount=MONEY)})
GROUP_BY = {"type": "string", "enum": ["contract", "customer", "owner"]}


def describe(api: OpenApi) -> None:
    t = "contracts"
    api.operation("/v1/products", "post", "Create a product with list prices per currency", tag=t, status=201,
                  request=obj(["sku", "name"], sku=STRING, name=STRING, prices={"type": "array", "items": PRICE}))
    api.operation("/v1/products", "get", "List products", tag=t,
                  parameters=[query_param("include_inactive", BOOLEAN)])
    api.operation("/v1/contracts", "post", "Create a draft contract for a customer (numbered per branch and year)",
                  tag=t, status=201, response=CONTRACT, request=obj(
                      ["customer_id", "branch_code", "currency", "start_date", "end_date", "lines"],
                      customer_id=STRING, branch_code=STRING, currency=STRING, start_date=DATE, end_date=DATE,
                      terms=STRING, lines={"type": "array", "items": LINE}))
    api.operation("/v1/contracts", "get", "List contracts in scope", tag=t, parameters=[
        query_param("customer_id"), query_param("status")])
    api.operation("/v1/contracts/{contract_id}", "get", "Read a contract", tag=t, response=CONTRACT,
                  parameters=[path_param("contract_id")])
    version = obj(expected_version=INTEGER)
    for action, summary, body in [
            ("submit", "Submit a draft for approval up the management chain", version),
            ("approve", "Approve the current step (the approver whose turn it is)", obj(comment=STRING,
                                                                                      expected_version=INTEGER)),
            ("reject", "Reject the current step with a comment", obj(["comment"], comment=STRING,
                                                                     expected_version=INTEGER)),
            ("sign", "Sign an approved contract", obj(signed_on=DATE, expected_version=INTEGER))]:
        api.operation(f"/v1/contracts/{{contract_id}}/{action}", "post", summary, tag=t, response=CONTRACT,
                      request=body, parameters=[path_param("contract_id")])
    api.operation("/v1/contracts/{contract_id}/terminate", "post",
                  "Request termination of a signed contract (goes through approval)", tag=t, status=202,
                  response=CONTRACT, request=obj(["reason"], reason=STRING, expected_version=INTEGER),
                  parameters=[path_param("contract_id")])
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
    api.operation("/v1/receipts", "get", "List receipts in scope", tag=t, parameters=[query_param("contract_id")])
    api.operation("/v1/receivables", "get", "Outstanding amounts per contract, customer or owner", tag=t,
                  parameters=[query_param("group_by", GROUP_BY)])
    api.operation("/v1/receivables/ageing", "get", "Ageing buckets (not due, 1-30, 31-60, 61-90, >90 days)",
                  tag=t, parameters=[query_param("as_of", DATE), query_param("group_by", GROUP_BY)])
