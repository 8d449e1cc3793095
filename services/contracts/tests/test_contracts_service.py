"""The contracts service end to end through gRPC on SQLite and PostgreSQL: products, contracts
numbered per branch and year, approval up the replicated management chain, payment plans,
receipts with allocation, receivables and ageing, scope, bad input and outbox events."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import FakeClock
from salesgrid_common.directory import directory_users
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import TestKeys, bearer, principal, run_service

TEAM, BRANCH = "/c/r1/b1/t1/", "/c/r1/b1/"
REP_PERMS = {"contracts:read": "own", "contracts:create": "own", "contracts:update": "own",
             "payments:create": "own", "payments:read": "own", "products:read": "all"}
BOSS_PERMS = {"contracts:read": "subtree", "contracts:approve": "subtree", "payments:read": "subtree"}
# user id, org path, roles, manager
PEOPLE = [("rep-1", TEAM, "rep", "mgr-1"), ("rep-2", TEAM, "rep", "mgr-1"), ("mgr-1", BRANCH, "manager", "dir-1"),
          ("dir-1", "/c/r1/", "director", "rh-1"), ("rh-1", "/c/", "regional_head", None)]


@dataclass
class Platform:
    api: pb_grpc.ContractsStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    clock: FakeClock
    running: object


@pytest.fixture
async def platform(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[Platform]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with running.app.ctx.sessions() as session, session.begin():
            for user_id, path, role, manager in PEOPLE:
                await session.execute(directory_users.insert().values(
                    user_id=user_id, login=user_id, display_name=user_id, unit_id=path, org_path=path,
                    manager_id=manager, roles=role, active=True, time_zone="Asia/Shanghai", updated_at=clock()))
        tokens = {}
        for user_id, path, _role, _manager in PEOPLE:
            perms = REP_PERMS if user_id.startswith("rep") else BOSS_PERMS
            tokens[user_id] = bearer(test_keys.token(principal(user_id=user_id, org_path=path, unit_id=path,
                                                               permissions=perms)))
        tokens["admin"] = bearer(test_keys.token(principal(user_id="admin", permissions={"products:create": "all"})))
        yield Platform(pb_grpc.ContractsStub(running.channel), tokens, clock, running)


async def failure(call) -> tuple[grpc.StatusCode, list[str]]:  # type: ignore[no-untyped-def]
    """The status code and the named fields of a call expected to fail."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    status = rpc_status.from_call(caught.value)
    fields: list[str] = []
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields += [v.field for v in bad.field_violations]
    return caught.value.code(), fields


async def new_contract(p: Platform, owner: str = "rep-1", price: str = "50000.00") -> pb.Contract:
    product = await p.api.CreateProduct(pb.CreateProductRequest(
        sku=f"SKU-{owner}-{price}", name="CRM licence", prices=[pb.ProductPrice(currency="CNY", amount=price)]),
        metadata=p.tokens["admin"])
    return await p.api.CreateContract(pb.CreateContractRequest(
        customer_id="cust-1", branch_code="SH", currency="CNY", start_date="2026-04-01", end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id=product.id, quantity="3", discount_percent="0")]),
        metadata=p.tokens[owner])


async def event_types(p: Platform) -> list[str]:
    async with p.running.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.created_at))).all()
    return [Envelope.FromString(row.envelope).type for row in rows]


async def test_contract_from_creation_to_collection(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p)
    assert (contract.number, contract.status, contract.total) == ("SH-2026-000001", "draft", "150000.00")

    submitted = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    # 150,000 CNY is above the manager's 100,000 limit: the manager, then the director.
    assert [(s.approver_id, s.role) for s in submitted.approval_steps] == [("mgr-1", "manager"),
                                                                           ("dir-1", "director")]
    code, _ = await failure(p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id),
                                                  metadata=p.tokens["dir-1"]))
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # out of turn
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id, comment="ok"), metadata=p.tokens["mgr-1"])
    approved = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["dir-1"])
    assert approved.status == "approved"
    signed = await p.api.SignContract(pb.SignContractRequest(id=contract.id, signed_on="2026-03-02"),
                                      metadata=p.tokens["rep-1"])
    assert (signed.status, signed.signed_on) == ("signed", "2026-03-02")

    code, fields = await failure(p.api.SetPaymentPlan(pb.SetPaymentPlanRequest(contract_id=contract.id, instalments=[
        pb.InstalmentInput(due_date="2026-04-01", amount="100000.00")]), metadata=p.tokens["rep-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["instalments"])
    plan = await p.api.SetPaymentPlan(pb.SetPaymentPlanRequest(contract_id=contract.id, instalments=[
        pb.InstalmentInput(due_date="2026-04-01", amount="100000.00"),
        pb.InstalmentInput(due_date="2026-06-01", amount="50000.00")]), metadata=p.tokens["rep-1"])
    assert [i.status for i in plan.instalments] == ["unpaid", "unpaid"]

    code, fields = await failure(p.api.RecordReceipt(pb.RecordReceiptRequest(
        contract_id=contract.id, amount="-5.00", method="bank_transfer"), metadata=p.tokens["rep-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"])
    receipt = await p.api.RecordReceipt(pb.RecordReceiptRequest(
        contract_id=contract.id, amount="60000.00", method="bank_transfer", reference="TX-1"),
        metadata=p.tokens["rep-1"])
    assert [(a.instalment_seq, a.amount) for a in receipt.allocations] == [(1, "60000.00")]

    # 60 days past the first due date (fake clock): 40,000 is 31-60 days old, 50,000 not yet due.
    p.clock.advance(timedelta(days=90))
    ageing = await p.api.GetAgeing(pb.GetAgeingRequest(), metadata=p.tokens["mgr-1"])
    assert ageing.as_of == "2026-05-31"
    assert [(l.currency, l.not_due, l.days_31_60, l.total) for l in ageing.lines] == [
        ("CNY", "50000.00", "40000.00", "90000.00")]
    receivables = await p.api.GetReceivables(pb.GetReceivablesRequest(group_by="customer"),
                                             metadata=p.tokens["rep-1"])
    assert [(g.key, g.outstanding[0].amount) for g in receivables.groups] == [("cust-1", "90000.00")]

    # Over-payment is kept as credit on the contract.
    over = await p.api.RecordReceipt(pb.RecordReceiptRequest(
        contract_id=contract.id, amount="100000.00", method="cash"), metadata=p.tokens["rep-1"])
    assert [(a.instalment_seq, a.amount) for a in over.allocations] == [(0, "10000.00"), (1, "40000.00"),
                                                                         (2, "50000.00")]
    plan = await p.api.GetPaymentPlan(pb.GetPaymentPlanRequest(contract_id=contract.id), metadata=p.tokens["rep-1"])
    assert ([i.status for i in plan.instalments], plan.credit) == (["paid", "paid"], "10000.00")

    # Termination goes through the same approval chain.
    pending = await p.api.TerminateContract(pb.TerminateContractRequest(id=contract.id, reason="customer exit"),
                                            metadata=p.tokens["rep-1"])
    assert pending.approval_kind == "termination"
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    terminated = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["dir-1"])
    assert terminated.status == "terminated"

    assert await event_types(p) == [f"salesgrid.contracts.{t}" for t in (
        "contract.created", "contract.submitted", "contract.approved", "contract.signed", "payment_plan.set",
        "receipt.recorded", "receipt.recorded", "contract.terminated")]


async def test_scope_rejection_and_bad_input(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p, price="20000.00")
    # A rep cannot see another rep's contract; the manager sees his subtree.
    code, _ = await failure(p.api.GetContract(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-2"]))
    assert code == grpc.StatusCode.NOT_FOUND
    assert [c.id for c in (await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["rep-2"])).contracts] == []
    seen = await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["mgr-1"])
    assert [c.number for c in seen.contracts] == [contract.number]

    # Unknown currency and a bad line, each named.
    code, fields = await failure(p.api.CreateContract(pb.CreateContractRequest(
        customer_id="cust-1", branch_code="SH", currency="XXY", start_date="2026-04-01", end_date="2027-03-31"),
        metadata=p.tokens["rep-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["currency"])
    code, fields = await failure(p.api.CreateContract(pb.CreateContractRequest(
        customer_id="cust-1", branch_code="SH", currency="CNY", start_date="2026-04-01", end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id="nope")]), metadata=p.tokens["rep-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines[0].product_id"])

    # A receipt on a draft is refused; the rep cannot approve (no permission, and his own).
    code, _ = await failure(p.api.RecordReceipt(pb.RecordReceiptRequest(
        contract_id=contract.id, amount="10.00", method="cash"), metadata=p.tokens["rep-1"]))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    submitted = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id, expected_version=contract.version),
                                           metadata=p.tokens["rep-1"])
    assert [s.approver_id for s in submitted.approval_steps] == ["mgr-1"]  # 60,000: the manager alone
    code, _ = await failure(p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id),
                                                  metadata=p.tokens["rep-1"]))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, fields = await failure(p.api.RejectContract(pb.ContractDecisionRequest(id=contract.id),
                                                      metadata=p.tokens["mgr-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["comment"])  # a rejection needs a reason
    rejected = await p.api.RejectContract(pb.ContractDecisionRequest(id=contract.id, comment="price too low"),
                                          metadata=p.tokens["mgr-1"])
    assert (rejected.status, rejected.approval_steps[0].status) == ("draft", "rejected")
    code, _ = await failure(p.api.SubmitContract(pb.ContractActionRequest(id=contract.id, expected_version=1),
                                                 metadata=p.tokens["rep-1"]))
    assert code == grpc.StatusCode.ABORTED  # stale version
    assert (await event_types(p))[-1] == "salesgrid.contracts.contract.rejected"


async def test_concurrent_creates_number_without_gaps(platform: Platform) -> None:
    p = platform
    product = await p.api.CreateProduct(pb.CreateProductRequest(
        sku="SKU-RACE", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
        metadata=p.tokens["admin"])
    request = pb.CreateContractRequest(customer_id="cust-9", branch_code="BJ", currency="CNY",
                                       start_date="2026-04-01", end_date="2026-12-31",
                                       lines=[pb.ContractLineInput(product_id=product.id)])
    created = await asyncio.gather(*(p.api.CreateContract(request, metadata=p.tokens["rep-1"]) for _ in range(8)))
    assert sorted(c.number for c in created) == [f"BJ-2026-{n:06d}" for n in range(1, 9)]
