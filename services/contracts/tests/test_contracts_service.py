"""The contracts service end to end through gRPC on SQLite and PostgreSQL: products, contracts
numbered per branch and year, approval up the replicated management chain, payment plans,
receipts with allocation, receivables and ageing, scope, bad input and outbox events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsApprovalStep,
    ContractsInstalmentOverdue,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.pipeline.v1 import pipeline_pb2, pipeline_pb2_grpc
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_contracts.settings import ContractsSettings
from salesgrid_contracts.usecases import ContractsUseCases
from salesgrid_customers.app import DEFINITION as CUSTOMERS
from salesgrid_customers.app import MIGRATIONS as CUSTOMERS_MIGRATIONS
from salesgrid_dev.api import document_fact, gate_facts
from salesgrid_dev.testing import (
    TestKeys,
    bearer,
    consumer_applied,
    eventually,
    field_violations,
    principal,
    publish_customer_merge,
    run_service,
)
from salesgrid_pipeline.app import DEFINITION as PIPELINE
from salesgrid_pipeline.app import MIGRATIONS as PIPELINE_MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings
from sqlalchemy import select

from contracts_fixtures import BOSS_PERMS, REP_PERMS
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica, unit_of

TEAM, BRANCH = "/c/r1/b1/t1/", "/c/r1/b1/"
# user id, org path, roles, manager
PEOPLE = [
    ("rep-1", TEAM, "rep", "mgr-1"),
    ("rep-2", TEAM, "rep", "mgr-1"),
    ("mgr-1", BRANCH, "manager", "dir-1"),
    ("dir-1", "/c/r1/", "director", "rh-1"),
    ("rh-1", "/c/", "regional_head", None),
    ("rep-3", "/c/r1/b2/t3/", "rep", "mgr-2"),
    ("mgr-2", "/c/r1/b2/", "manager", "dir-1"),
]


@dataclass
class Platform:
    api: pb_grpc.ContractsStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    clock: FakeClock
    running: object


def unit_paths(path: str) -> list[str]:
    """/c/r1/b1/ -> /c/, /c/r1/, /c/r1/b1/: the units on an org path."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


@pytest.fixture
async def platform(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[Platform]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            for user_id, path, role, manager in PEOPLE:
                await add_user(session, user_id, path, unit_id=path, manager_id=manager, roles=role, at=clock())
            for path in {unit for _, person_path, _, _ in PEOPLE for unit in unit_paths(person_path)}:
                await add_unit(session, unit_of(path), path, name=path, at=clock())
        tokens = {}
        for user_id, path, _role, _manager in PEOPLE:
            perms = REP_PERMS if user_id.startswith("rep") else BOSS_PERMS
            tokens[user_id] = caller(test_keys, user_id, path, perms, unit_id=path)
        tokens["admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"products:create": "all", "products:update": "all"})
            )
        )
        tokens["rules-admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"org_units:update": "all", "org_units:read": "all"})
            )
        )
        yield Platform(pb_grpc.ContractsStub(running.channel), tokens, clock, running)


async def failure(call) -> tuple[grpc.StatusCode, list[str]]:  # type: ignore[no-untyped-def]
    """The status code and the named fields of a call expected to fail."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), field_violations(caught.value)


async def new_contract(p: Platform, owner: str = "rep-1", price: str = "50000.00") -> pb.Contract:
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku=f"SKU-{owner}-{price}", name="CRM licence", prices=[pb.ProductPrice(currency="CNY", amount=price)]
        ),
        metadata=p.tokens["admin"],
    )
    return await p.api.CreateContract(
        pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code="SH",
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            lines=[pb.ContractLineInput(product_id=product.id, quantity="3", discount_percent="0")],
        ),
        metadata=p.tokens[owner],
    )


async def envelopes(p: Platform) -> list[Envelope]:
    async with p.running.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        # The relay's order: event ids increase within the process (the test clock stands still).
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
    return [Envelope.FromString(row.envelope) for row in rows]


async def event_types(p: Platform, *, steps: bool = False) -> list[str]:
    """Event types in order; approval.step_* left out unless `steps` (they share timestamps with
    the contract event of the same transaction)."""
    return [e.type for e in await envelopes(p) if steps or ".approval.step_" not in e.type]


async def test_contract_from_creation_to_collection(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p)
    assert (contract.number, contract.status, contract.total) == ("SH-2026-000001", "draft", "150000.00")

    submitted = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    # 150,000 CNY is above the manager's 100,000 limit: the manager, then the director.
    assert [(s.approver_id, s.role) for s in submitted.approval_steps] == [("mgr-1", "manager"), ("dir-1", "director")]
    code, _ = await failure(
        p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["dir-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # out of turn
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id, comment="ok"), metadata=p.tokens["mgr-1"])
    approved = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["dir-1"])
    assert approved.status == "approved"
    signed = await p.api.SignContract(
        pb.SignContractRequest(id=contract.id, signed_on="2026-03-02"), metadata=p.tokens["rep-1"]
    )
    assert (signed.status, signed.signed_on) == ("signed", "2026-03-02")

    code, fields = await failure(
        p.api.SetPaymentPlan(
            pb.SetPaymentPlanRequest(
                contract_id=contract.id, instalments=[pb.InstalmentInput(due_date="2026-04-01", amount="100000.00")]
            ),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["instalments"])
    plan = await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id,
            instalments=[
                pb.InstalmentInput(due_date="2026-04-01", amount="100000.00"),
                pb.InstalmentInput(due_date="2026-06-01", amount="50000.00"),
            ],
        ),
        metadata=p.tokens["rep-1"],
    )
    assert [i.status for i in plan.instalments] == ["unpaid", "unpaid"]

    code, fields = await failure(
        p.api.RecordReceipt(
            pb.RecordReceiptRequest(contract_id=contract.id, amount="-5.00", method="bank_transfer"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"])
    receipt = await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="60000.00", method="bank_transfer", reference="TX-1"),
        metadata=p.tokens["rep-1"],
    )
    assert [(a.instalment_seq, a.amount) for a in receipt.allocations] == [(1, "60000.00")]

    # 60 days past the first due date (fake clock): 40,000 is 31-60 days old, 50,000 not yet due.
    p.clock.advance(timedelta(days=90))
    ageing = await p.api.GetAgeing(pb.GetAgeingRequest(), metadata=p.tokens["mgr-1"])
    assert ageing.as_of == "2026-05-31"
    assert [(l.currency, l.not_due, l.days_31_60, l.total) for l in ageing.lines] == [
        ("CNY", "50000.00", "40000.00", "90000.00")
    ]
    receivables = await p.api.GetReceivables(pb.GetReceivablesRequest(group_by="customer"), metadata=p.tokens["rep-1"])
    assert [(g.key, g.outstanding[0].amount) for g in receivables.groups] == [("cust-1", "90000.00")]

    # Over-payment is kept as credit on the contract.
    over = await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="100000.00", method="cash"), metadata=p.tokens["rep-1"]
    )
    assert [(a.instalment_seq, a.amount) for a in over.allocations] == [
        (0, "10000.00"),
        (1, "40000.00"),
        (2, "50000.00"),
    ]
    plan = await p.api.GetPaymentPlan(pb.GetPaymentPlanRequest(contract_id=contract.id), metadata=p.tokens["rep-1"])
    assert ([i.status for i in plan.instalments], plan.credit) == (["paid", "paid"], "10000.00")

    # Termination goes through the same approval chain.
    pending = await p.api.TerminateContract(
        pb.TerminateContractRequest(id=contract.id, reason="customer exit"), metadata=p.tokens["rep-1"]
    )
    assert pending.approval_kind == "termination"
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    terminated = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["dir-1"])
    assert terminated.status == "terminated"

    assert await event_types(p) == [
        f"salesgrid.contracts.{t}"
        for t in (
            "contract.created",
            "contract.submitted",
            "contract.approved",
            "contract.signed",
            "payment_plan.set",
            "receipt.recorded",
            "receipt.recorded",
            "contract.terminated",
        )
    ]


async def test_scope_rejection_and_bad_input(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p, price="20000.00")
    # A rep cannot see another rep's contract; the manager sees his subtree.
    code, _ = await failure(p.api.GetContract(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-2"]))
    assert code == grpc.StatusCode.NOT_FOUND
    assert [
        c.id for c in (await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["rep-2"])).contracts
    ] == []
    seen = await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["mgr-1"])
    assert [c.number for c in seen.contracts] == [contract.number]

    # Unknown currency and a bad line, each named.
    code, fields = await failure(
        p.api.CreateContract(
            pb.CreateContractRequest(
                customer_id="cust-1", branch_code="SH", currency="XXY", start_date="2026-04-01", end_date="2027-03-31"
            ),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["currency"])
    code, fields = await failure(
        p.api.CreateContract(
            pb.CreateContractRequest(
                customer_id="cust-1",
                branch_code="SH",
                currency="CNY",
                start_date="2026-04-01",
                end_date="2027-03-31",
                lines=[pb.ContractLineInput(product_id="nope")],
            ),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["lines[0].product_id"])

    # A receipt on a draft is refused; the rep cannot approve (no permission, and his own).
    code, _ = await failure(
        p.api.RecordReceipt(
            pb.RecordReceiptRequest(contract_id=contract.id, amount="10.00", method="cash"), metadata=p.tokens["rep-1"]
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    submitted = await p.api.SubmitContract(
        pb.ContractActionRequest(id=contract.id, expected_version=contract.version), metadata=p.tokens["rep-1"]
    )
    assert [s.approver_id for s in submitted.approval_steps] == ["mgr-1"]  # 60,000: the manager alone
    code, _ = await failure(
        p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    code, fields = await failure(
        p.api.RejectContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["comment"])  # a rejection needs a reason
    rejected = await p.api.RejectContract(
        pb.ContractDecisionRequest(id=contract.id, comment="price too low"), metadata=p.tokens["mgr-1"]
    )
    assert (rejected.status, rejected.approval_steps[0].status) == ("draft", "rejected")
    code, _ = await failure(
        p.api.SubmitContract(pb.ContractActionRequest(id=contract.id, expected_version=1), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.ABORTED  # stale version
    assert (await event_types(p))[-1] == "salesgrid.contracts.contract.rejected"


async def test_concurrent_creates_number_without_gaps(platform: Platform) -> None:
    p = platform
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(sku="SKU-RACE", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
        metadata=p.tokens["admin"],
    )
    request = pb.CreateContractRequest(
        customer_id="cust-9",
        branch_code="BJ",
        currency="CNY",
        start_date="2026-04-01",
        end_date="2026-12-31",
        lines=[pb.ContractLineInput(product_id=product.id)],
    )
    created = await asyncio.gather(*(p.api.CreateContract(request, metadata=p.tokens["rep-1"]) for _ in range(8)))
    assert sorted(c.number for c in created) == [f"BJ-2026-{n:06d}" for n in range(1, 9)]


async def signed_contract(
    p: Platform, price: str = "20000.00", owner: str = "rep-1", manager: str = "mgr-1"
) -> pb.Contract:
    """A contract of 3 x price, approved by the manager alone (≤ 100,000) and signed."""
    contract = await new_contract(p, owner=owner, price=price)
    await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens[owner])
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens[manager])
    return await p.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=p.tokens[owner])


async def test_receivables_and_ageing_by_unit_in_scope(platform: Platform) -> None:
    p = platform
    for owner, manager, price, due in (
        ("rep-1", "mgr-1", "20000.00", "2026-04-01"),
        ("rep-3", "mgr-2", "10000.00", "2026-05-01"),
    ):
        contract = await signed_contract(p, price, owner, manager)
        await p.api.SetPaymentPlan(
            pb.SetPaymentPlanRequest(
                contract_id=contract.id, instalments=[pb.InstalmentInput(due_date=due, amount=contract.total)]
            ),
            metadata=p.tokens[owner],
        )
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="5000.00", method="cash"), metadata=p.tokens["rep-3"]
    )

    def grouped(reply: pb.Receivables) -> list[tuple[str, str]]:
        return [(g.key, g.outstanding[0].amount) for g in reply.groups]

    # The director sees both branches' teams; each manager only his own subtree.
    by_unit = pb.GetReceivablesRequest(group_by="unit")
    assert grouped(await p.api.GetReceivables(by_unit, metadata=p.tokens["dir-1"])) == [
        ("/c/r1/b1/t1/", "60000.00"),
        ("/c/r1/b2/t3/", "25000.00"),
    ]
    assert grouped(await p.api.GetReceivables(by_unit, metadata=p.tokens["mgr-1"])) == [("/c/r1/b1/t1/", "60000.00")]
    assert grouped(await p.api.GetReceivables(by_unit, metadata=p.tokens["mgr-2"])) == [("/c/r1/b2/t3/", "25000.00")]

    ageing = await p.api.GetAgeing(pb.GetAgeingRequest(as_of="2026-04-15", group_by="unit"), metadata=p.tokens["dir-1"])
    assert [(l.key, l.not_due, l.days_1_30, l.total) for l in ageing.lines] == [
        ("/c/r1/b1/t1/", "0.00", "60000.00", "60000.00"),
        ("/c/r1/b2/t3/", "25000.00", "0.00", "25000.00"),
    ]
    code, fields = await failure(
        p.api.GetReceivables(pb.GetReceivablesRequest(group_by="region"), metadata=p.tokens["dir-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["group_by"])


async def test_amendment_keeps_the_old_version_until_approved(platform: Platform) -> None:
    p = platform
    contract = await signed_contract(p)
    code, _ = await failure(
        p.api.AmendContract(
            pb.AmendContractRequest(id=(await new_contract(p, price="7.00")).id, terms="x"), metadata=p.tokens["rep-1"]
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # a draft is edited, not amended
    code, fields = await failure(
        p.api.AmendContract(pb.AmendContractRequest(id=contract.id, end_date="2026-01-01"), metadata=p.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["end_date"])
    unchanged = await p.api.GetContract(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert (unchanged.version, unchanged.approval_kind) == (contract.version, "")  # nothing written

    # 5 seats instead of 3: 100,000 is still within the manager's limit.
    amended = await p.api.AmendContract(
        pb.AmendContractRequest(
            id=contract.id,
            lines=[pb.ContractLineInput(product_id=contract.lines[0].product_id, quantity="5")],
            terms="five seats",
        ),
        metadata=p.tokens["rep-1"],
    )
    assert (amended.status, amended.total, amended.revision, amended.approval_kind) == (
        "signed",
        "60000.00",
        1,
        "amendment",
    )
    assert (amended.proposed.revision, amended.proposed.total, amended.proposed.status) == (2, "100000.00", "proposed")
    assert [s.approver_id for s in amended.approval_steps] == ["mgr-1"]
    code, _ = await failure(
        p.api.AmendContract(pb.AmendContractRequest(id=contract.id, terms="again"), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # one approval at a time
    # The version in force stays collectible meanwhile.
    await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id, instalments=[pb.InstalmentInput(due_date="2026-04-01", amount="60000.00")]
        ),
        metadata=p.tokens["rep-1"],
    )

    applied = await p.api.ApproveContract(
        pb.ContractDecisionRequest(id=contract.id, comment="fine"), metadata=p.tokens["mgr-1"]
    )
    assert (applied.status, applied.total, applied.revision, applied.terms, applied.approval_kind) == (
        "signed",
        "100000.00",
        2,
        "five seats",
        "",
    )
    assert [l.quantity for l in applied.lines] == ["5"]
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(v.revision, v.status, v.total) for v in versions.versions] == [
        (1, "superseded", "60000.00"),
        (2, "in_force", "100000.00"),
    ]

    # A rejected amendment leaves the contract as it was and is kept as rejected.
    await p.api.AmendContract(
        pb.AmendContractRequest(id=contract.id, end_date="2027-12-31"), metadata=p.tokens["rep-1"]
    )
    rejected = await p.api.RejectContract(
        pb.ContractDecisionRequest(id=contract.id, comment="no"), metadata=p.tokens["mgr-1"]
    )
    assert (rejected.status, rejected.end_date, rejected.revision) == ("signed", "2027-03-31", 2)
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(v.revision, v.status) for v in versions.versions] == [(1, "superseded"), (2, "in_force"), (3, "rejected")]
    types = await event_types(p, steps=True)
    assert types.count("salesgrid.contracts.contract.amended") == 1
    assert types[-3:].count("salesgrid.contracts.contract.rejected") == 1
    # Each round: its first step activated, then decided.
    assert types.count("salesgrid.contracts.approval.step_activated") == 3
    assert types.count("salesgrid.contracts.approval.step_approved") == 2
    assert types.count("salesgrid.contracts.approval.step_rejected") == 1


async def test_activate_and_complete(platform: Platform) -> None:
    p = platform
    contract = await signed_contract(p)
    code, _ = await failure(
        p.api.ActivateContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # starts 2026-04-01, today is 2026-03-02
    code, _ = await failure(
        p.api.CompleteContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # signed, not active
    p.clock.advance(timedelta(days=31))
    active = await p.api.ActivateContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert active.status == "active"
    await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id, instalments=[pb.InstalmentInput(due_date="2026-04-01", amount="60000.00")]
        ),
        metadata=p.tokens["rep-1"],
    )
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="59999.99", method="cash"), metadata=p.tokens["rep-1"]
    )
    code, _ = await failure(
        p.api.CompleteContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # 0.01 still outstanding
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="0.01", method="cash"), metadata=p.tokens["rep-1"]
    )
    done = await p.api.CompleteContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert done.status == "completed"
    types = await event_types(p)
    assert types[-1] == "salesgrid.contracts.contract.completed"
    assert "salesgrid.contracts.contract.activated" in types


async def test_refunds_never_exceed_collected(platform: Platform) -> None:
    p = platform
    contract = await signed_contract(p)
    await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id,
            instalments=[
                pb.InstalmentInput(due_date="2026-04-01", amount="30000.00"),
                pb.InstalmentInput(due_date="2026-05-01", amount="30000.00"),
            ],
        ),
        metadata=p.tokens["rep-1"],
    )
    code, fields = await failure(
        p.api.RecordRefund(
            pb.RecordRefundRequest(contract_id=contract.id, amount="1.00", reason="goodwill"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"])  # nothing collected yet
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="40000.00", method="bank_transfer"),
        metadata=p.tokens["rep-1"],
    )
    for amount in ("40000.01", "-5.00"):
        code, fields = await failure(
            p.api.RecordRefund(
                pb.RecordRefundRequest(contract_id=contract.id, amount=amount, reason="goodwill"),
                metadata=p.tokens["rep-1"],
            )
        )
        assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"]), amount
    code, fields = await failure(
        p.api.RecordRefund(
            pb.RecordRefundRequest(contract_id=contract.id, amount="5.00", reason=""), metadata=p.tokens["rep-1"]
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["reason"])
    assert (await p.api.ListRefunds(pb.ListRefundsRequest(), metadata=p.tokens["rep-1"])).refunds == []

    refund = await p.api.RecordRefund(
        pb.RecordRefundRequest(contract_id=contract.id, amount="15000.00", reason="one seat returned"),
        metadata=p.tokens["rep-1"],
    )
    assert (refund.amount, refund.currency) == ("15000.00", "CNY")
    # The refund takes back from the latest paid instalment: 40,000 - 15,000 = 25,000 paid.
    plan = await p.api.GetPaymentPlan(pb.GetPaymentPlanRequest(contract_id=contract.id), metadata=p.tokens["rep-1"])
    assert [(i.paid, i.status) for i in plan.instalments] == [("25000.00", "partially_paid"), ("0.00", "unpaid")]
    code, fields = await failure(
        p.api.RecordRefund(
            pb.RecordRefundRequest(contract_id=contract.id, amount="25000.01", reason="more"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"])  # net of the first refund
    code, _ = await failure(
        p.api.RecordRefund(
            pb.RecordRefundRequest(contract_id=contract.id, amount="1.00", reason="x"), metadata=p.tokens["rep-2"]
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND  # another rep's contract
    listed = await p.api.ListRefunds(pb.ListRefundsRequest(contract_id=contract.id), metadata=p.tokens["mgr-1"])
    assert [r.id for r in listed.refunds] == [refund.id]
    assert (await event_types(p))[-1] == "salesgrid.contracts.refund.recorded"


async def test_invoiced_total_never_exceeds_contract_total(platform: Platform) -> None:
    p = platform
    draft = await new_contract(p, price="1.00")
    code, _ = await failure(
        p.api.IssueInvoice(
            pb.IssueInvoiceRequest(contract_id=draft.id, number="INV-0", amount="1.00"), metadata=p.tokens["rep-1"]
        )
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION  # not signed
    contract = await signed_contract(p)
    first = await p.api.IssueInvoice(
        pb.IssueInvoiceRequest(contract_id=contract.id, number="INV-1", amount="50000.00"), metadata=p.tokens["rep-1"]
    )
    assert (first.status, first.issued_on) == ("issued", "2026-03-02")
    code, fields = await failure(
        p.api.IssueInvoice(
            pb.IssueInvoiceRequest(contract_id=contract.id, number="INV-2", amount="10000.01"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["amount"])
    code, _ = await failure(
        p.api.IssueInvoice(
            pb.IssueInvoiceRequest(contract_id=contract.id, number="INV-1", amount="1.00"), metadata=p.tokens["rep-1"]
        )
    )
    assert code == grpc.StatusCode.ABORTED  # duplicate number (409)
    code, fields = await failure(
        p.api.IssueInvoice(
            pb.IssueInvoiceRequest(contract_id=contract.id, number="INV-3", amount="1.00", issued_on="2026-13-01"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["issued_on"])
    last = await p.api.IssueInvoice(
        pb.IssueInvoiceRequest(contract_id=contract.id, number="INV-2", amount="10000.00"), metadata=p.tokens["rep-1"]
    )
    listed = await p.api.ListInvoices(
        pb.ListInvoicesRequest(contract_id=contract.id, page_size=1), metadata=p.tokens["rep-1"]
    )
    assert [i.number for i in listed.invoices] == [last.number] and listed.next_cursor
    rest = await p.api.ListInvoices(
        pb.ListInvoicesRequest(contract_id=contract.id, page_size=1, cursor=listed.next_cursor),
        metadata=p.tokens["rep-1"],
    )
    assert ([i.number for i in rest.invoices], rest.next_cursor) == (["INV-1"], "")
    assert (await event_types(p)).count("salesgrid.contracts.invoice.issued") == 2


async def test_reminders_are_sent_once_per_due_point(platform: Platform) -> None:
    p = platform
    uc = p.running.app.ctx.component(ContractsUseCases)  # type: ignore[attr-defined]
    pending = await new_contract(p, price="10.00")
    await p.api.SubmitContract(pb.ContractActionRequest(id=pending.id), metadata=p.tokens["rep-1"])
    contract = await signed_contract(p)
    await p.api.SetPaymentPlan(
        pb.SetPaymentPlanRequest(
            contract_id=contract.id,
            instalments=[
                pb.InstalmentInput(due_date="2026-04-01", amount="10000.00"),
                pb.InstalmentInput(due_date="2026-05-01", amount="50000.00"),
            ],
        ),
        metadata=p.tokens["rep-1"],
    )
    await p.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=contract.id, amount="10000.00", method="cash"), metadata=p.tokens["rep-1"]
    )
    assert await uc.send_reminders() == 0  # nothing overdue, the approver's turn just began

    p.clock.advance(timedelta(hours=25))
    assert await uc.send_reminders() == 1  # the pending approval step
    assert await uc.send_reminders() == 0  # idempotent
    p.clock.advance(timedelta(days=70))  # 2026-05-12: only the unpaid May instalment is overdue
    assert await uc.send_reminders() == 2  # the step again (another timeout), and the instalment
    assert await uc.send_reminders() == 0
    overdue = [e for e in await envelopes(p) if e.type == "salesgrid.contracts.instalment.overdue"]
    payload = ContractsInstalmentOverdue.FromString(overdue[0].payload)
    assert (len(overdue), payload.seq, payload.outstanding, overdue[0].actor_id) == (
        1,
        2,
        "50000.00",
        system_actor("contracts"),
    )
    reminded = [e for e in await envelopes(p) if e.type == "salesgrid.contracts.approval.step_reminded"]
    assert [ContractsApprovalStep.FromString(e.payload).approver_id for e in reminded] == ["mgr-1", "mgr-1"]


async def test_contract_list_pages_without_repeats(platform: Platform) -> None:
    p = platform
    created = [await new_contract(p, price=f"{n}.00") for n in (1, 2, 3)]
    seen: list[str] = []
    cursor = ""
    while True:
        page = await p.api.ListContracts(
            pb.ListContractsRequest(page_size=2, cursor=cursor), metadata=p.tokens["rep-1"]
        )
        seen += [c.id for c in page.contracts]
        if not (cursor := page.next_cursor):
            break
    assert seen == [c.id for c in reversed(created)]
    code, fields = await failure(p.api.ListContracts(pb.ListContractsRequest(page_size=-1), metadata=p.tokens["rep-1"]))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["page_size"])


async def peer_database(database_url: str, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database of the same kind as contracts' own for another service run next to it."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / name}.db"
    return request.getfixturevalue("postgres").create_database(f"{name}_" + database_url.rsplit("/", 1)[-1][-20:])


PIPELINE_PERMS = {
    "opportunities:read": "own",
    "opportunities:create": "own",
    "opportunities:update": "own",
    "customers:read": "own",
    "customers:create": "own",
    "stage_models:read": "all",
}


async def won_opportunity(
    pipeline: pipeline_pb2_grpc.PipelineStub, metadata: object, customer_id: str, product_id: str
) -> pipeline_pb2.Opportunity:
    """An opportunity of the caller's advanced through every gate of the default model and won
    (the gate facts of the pipeline's own end-to-end flow)."""
    opportunity = await pipeline.CreateOpportunity(
        pipeline_pb2.CreateOpportunityRequest(
            customer_id=customer_id,
            name="Big deal",
            expected_close_date="2026-09-30",
            amount=pipeline_pb2.PipelineMoney(amount="88000.50", currency="CNY"),
            products=[pipeline_pb2.OpportunityProduct(product_id=product_id)],
        ),
        metadata=metadata,
    )
    for _stage, facts in gate_facts():
        await pipeline.AdvanceOpportunity(
            pipeline_pb2.AdvanceOpportunityRequest(
                id=opportunity.id, facts=[json_format.ParseDict(f, pipeline_pb2.Fact()) for f in facts]
            ),
            metadata=metadata,
        )
    return await pipeline.WinOpportunity(
        pipeline_pb2.WinOpportunityRequest(
            id=opportunity.id,
            facts=[
                json_format.ParseDict(document_fact(code), pipeline_pb2.Fact())
                for code in ("award_notice", "bid_opening_documents")
            ],
        ),
        metadata=metadata,
    )


async def test_contract_from_a_won_opportunity(
    database_url: str, nats_url: str, test_keys: TestKeys, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Against the real pipeline service (itself next to the real customers service)."""
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    customers_url = await peer_database(database_url, "customers", tmp_path, request)
    pipeline_url = await peer_database(database_url, "pipeline", tmp_path, request)
    async with (
        run_service(CUSTOMERS, CUSTOMERS_MIGRATIONS, customers_url, nats_url, test_keys) as customers,
        run_service(
            PIPELINE,
            PIPELINE_MIGRATIONS,
            pipeline_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=PipelineSettings,
            customers_addr=customers.address,
        ) as pipeline_service,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=ContractsSettings,
            pipeline_addr=pipeline_service.address,
        ) as running,
    ):
        api = pb_grpc.ContractsStub(running.channel)
        pipeline = pipeline_pb2_grpc.PipelineStub(pipeline_service.channel)
        perms = REP_PERMS | PIPELINE_PERMS
        rep = bearer(test_keys.token(principal(user_id="rep-1", org_path=TEAM, unit_id=TEAM, permissions=perms)))
        other = bearer(test_keys.token(principal(user_id="rep-2", org_path=TEAM, unit_id=TEAM, permissions=perms)))
        admin = bearer(test_keys.token(principal(user_id="admin", permissions={"products:create": "all"})))
        product = await api.CreateProduct(
            pb.CreateProductRequest(sku="OPP-1", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
            metadata=admin,
        )
        customer = await cpb_grpc.CustomersStub(customers.channel).CreateCustomer(
            cpb.CreateCustomerRequest(legal_name="华东精密机械有限公司"), metadata=rep
        )
        open_one = await pipeline.CreateOpportunity(
            pipeline_pb2.CreateOpportunityRequest(
                customer_id=customer.customer.id,
                name="Maybe",
                expected_close_date="2026-09-30",
                amount=pipeline_pb2.PipelineMoney(amount="1.00", currency="CNY"),
            ),
            metadata=rep,
        )
        won = await won_opportunity(pipeline, rep, customer.customer.id, product.id)
        base = dict(branch_code="SH", start_date="2026-04-01", end_date="2027-03-31")

        contract = await api.CreateContract(pb.CreateContractRequest(opportunity_id=won.id, **base), metadata=rep)
        assert (contract.customer_id, contract.currency, contract.total, contract.opportunity_id) == (
            customer.customer.id,
            "CNY",
            "88000.50",
            won.id,
        )
        assert contract.lines[0].description == "Big deal"

        for opportunity_id, customer_id, metadata, expected in (
            (open_one.id, "", rep, (grpc.StatusCode.FAILED_PRECONDITION, ["opportunity_id"])),
            ("nope", "", rep, (grpc.StatusCode.INVALID_ARGUMENT, ["opportunity_id"])),
            (won.id, "", other, (grpc.StatusCode.INVALID_ARGUMENT, ["opportunity_id"])),  # out of his scope
            (won.id, "cust-8", rep, (grpc.StatusCode.INVALID_ARGUMENT, ["customer_id"])),
        ):
            assert (
                await failure(
                    api.CreateContract(
                        pb.CreateContractRequest(opportunity_id=opportunity_id, customer_id=customer_id, **base),
                        metadata=metadata,
                    )
                )
                == expected
            )
        listed = await api.ListContracts(pb.ListContractsRequest(), metadata=rep)
        assert [c.id for c in listed.contracts] == [contract.id]  # nothing else written
        assert (await api.ListContracts(pb.ListContractsRequest(), metadata=other)).contracts == []


async def test_approval_rules_of_the_nearest_unit_win(platform: Platform) -> None:
    p = platform
    admin = p.tokens["rules-admin"]

    def rules(*pairs: tuple[str, str]) -> list[pb.ApprovalThreshold]:
        return [pb.ApprovalThreshold(up_to=up_to, role=role) for up_to, role in pairs]

    # Bad thresholds are named and nothing is stored.
    code, fields = await failure(
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(
                org_unit_id="b1",
                currency="CNY",
                thresholds=rules(("5000", "manager"), ("1000", "director"), ("", "regional_head")),
            ),
            metadata=admin,
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["thresholds[1].up_to"])
    default = await p.api.GetApprovalRules(pb.GetApprovalRulesRequest(org_unit_id="b1"), metadata=admin)
    # A unit that does not exist has no rules to read or set (not the defaults of a made-up unit).
    for call in (
        p.api.GetApprovalRules(pb.GetApprovalRulesRequest(org_unit_id="no-such-unit"), metadata=admin),
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(org_unit_id="no-such-unit", currency="CNY", thresholds=rules(("", "manager"))),
            metadata=admin,
        ),
    ):
        assert await failure(call) == (grpc.StatusCode.NOT_FOUND, ["org_unit_id"])
    assert [t.up_to for t in default.thresholds] == ["100000.00", "1000000.00", ""]
    code, _ = await failure(
        p.api.SetApprovalRules(
            pb.SetApprovalRulesRequest(org_unit_id="b1", currency="CNY", thresholds=rules(("", "manager"))),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED

    # The root says "the manager up to any amount"; the branch (nearer to the rep) lowers the limit.
    await p.api.SetApprovalRules(
        pb.SetApprovalRulesRequest(org_unit_id="c", currency="CNY", thresholds=rules(("", "manager"))), metadata=admin
    )
    contract = await new_contract(p, price="20000.00")  # 60,000
    submitted = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [s.approver_id for s in submitted.approval_steps] == ["mgr-1"]  # the root's rules
    await p.api.RejectContract(pb.ContractDecisionRequest(id=contract.id, comment="redo"), metadata=p.tokens["mgr-1"])
    stored = await p.api.SetApprovalRules(
        pb.SetApprovalRulesRequest(
            org_unit_id="b1", currency="CNY", thresholds=rules(("10000", "manager"), ("", "director"))
        ),
        metadata=admin,
    )
    assert [(t.up_to, t.role) for t in stored.thresholds] == [("10000.00", "manager"), ("", "director")]
    again = await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens["rep-1"])
    assert [(s.approver_id, s.role) for s in again.approval_steps] == [("mgr-1", "manager"), ("dir-1", "director")]


def doc(document_id: str, digit: str = "a") -> pb.AttachmentRef:
    return pb.AttachmentRef(
        document_id=document_id,
        file_name=f"{document_id}.pdf",
        content_type="application/pdf",
        size_bytes=2048,
        sha256=digit * 64,
    )


async def test_standard_template_versions_and_default_terms(platform: Platform) -> None:
    p = platform
    code, fields = await failure(
        p.api.SetContractTemplate(
            pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="  "),
            metadata=p.tokens["admin"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["terms"])
    code, _ = await failure(
        p.api.SetContractTemplate(
            pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="Net 30"),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    first = await p.api.SetContractTemplate(
        pb.SetContractTemplateRequest(template_id="standard", name="Standard", terms="Net 30"),
        metadata=p.tokens["admin"],
    )
    second = await p.api.SetContractTemplate(
        pb.SetContractTemplateRequest(template_id="standard", name="Standard 2026", terms="Net 45"),
        metadata=p.tokens["admin"],
    )
    assert (first.version, second.version) == (1, 2)
    old = await p.api.GetContractTemplate(
        pb.GetContractTemplateRequest(template_id="standard", version=1), metadata=p.tokens["rep-1"]
    )
    assert (old.version, old.terms) == (1, "Net 30")

    product = await p.api.CreateProduct(
        pb.CreateProductRequest(sku="TPL-1", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
        metadata=p.tokens["admin"],
    )
    base = dict(
        customer_id="cust-1",
        branch_code="SH",
        currency="CNY",
        start_date="2026-04-01",
        end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id=product.id)],
    )
    # Terms default from the template's latest version, which the contract records.
    defaulted = await p.api.CreateContract(
        pb.CreateContractRequest(template_id="standard", **base), metadata=p.tokens["rep-1"]
    )
    assert (defaulted.terms, defaulted.template_id, defaulted.template_version) == ("Net 45", "standard", 2)
    own = await p.api.CreateContract(
        pb.CreateContractRequest(template_id="standard", terms="Net 10", **base), metadata=p.tokens["rep-1"]
    )
    assert (own.terms, own.template_version) == ("Net 10", 2)
    plain = await p.api.CreateContract(pb.CreateContractRequest(**base), metadata=p.tokens["rep-1"])
    assert (plain.terms, plain.template_id, plain.template_version) == ("", "", 0)
    # An unknown template is named and nothing is written.
    code, fields = await failure(
        p.api.CreateContract(pb.CreateContractRequest(template_id="nope", **base), metadata=p.tokens["rep-1"])
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["template_id"])
    listed = await p.api.ListContracts(pb.ListContractsRequest(), metadata=p.tokens["rep-1"])
    assert len(listed.contracts) == 3
    code, _ = await failure(
        p.api.GetContractTemplate(pb.GetContractTemplateRequest(template_id="nope"), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_attachments_change_on_drafts_and_through_amendments(platform: Platform) -> None:
    p = platform
    contract = await new_contract(p, price="20000.00")
    rep = p.tokens["rep-1"]

    def add(ref: pb.AttachmentRef, version: int = 0):  # type: ignore[no-untyped-def]
        return p.api.AddAttachment(
            pb.AddAttachmentRequest(contract_id=contract.id, attachment=ref, expected_version=version), metadata=rep
        )

    bad = doc("quote")
    bad.size_bytes, bad.sha256, bad.content_type = 0, "xyz", "pdf"
    code, fields = await failure(add(bad))
    assert (code, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["attachment.content_type", "attachment.size_bytes", "attachment.sha256"],
    )
    first = await add(doc("quote"), contract.version)
    assert [(a.document_id, a.size_bytes, a.sha256) for a in first.attachments] == [("quote", 2048, "a" * 64)]
    code, _ = await failure(add(doc("quote", "b")))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    code, _ = await failure(add(doc("drawing"), contract.version))
    assert code == grpc.StatusCode.ABORTED  # stale version
    await add(doc("drawing"))
    code, fields = await failure(
        p.api.RemoveAttachment(pb.RemoveAttachmentRequest(contract_id=contract.id, document_id="nope"), metadata=rep)
    )
    assert (code, fields) == (grpc.StatusCode.NOT_FOUND, ["document_id"])
    removed = await p.api.RemoveAttachment(
        pb.RemoveAttachmentRequest(contract_id=contract.id, document_id="drawing"), metadata=rep
    )
    assert [a.document_id for a in removed.attachments] == ["quote"]
    code, _ = await failure(
        p.api.AddAttachment(
            pb.AddAttachmentRequest(contract_id=contract.id, attachment=doc("x")), metadata=p.tokens["rep-2"]
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND  # another rep's contract

    # Past the draft, attachments change only through an (approved) amendment.
    await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=rep)
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    await p.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=rep)
    code, fields = await failure(add(doc("late")))
    assert (code, fields) == (grpc.StatusCode.FAILED_PRECONDITION, ["status"])
    code, fields = await failure(
        p.api.AmendContract(
            pb.AmendContractRequest(
                id=contract.id, set_attachments=True, attachments=[doc("signed"), doc("signed", "c")]
            ),
            metadata=rep,
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["attachments[1].document_id"])
    proposed = await p.api.AmendContract(
        pb.AmendContractRequest(id=contract.id, set_attachments=True, attachments=[doc("quote"), doc("signed", "c")]),
        metadata=rep,
    )
    assert [a.document_id for a in proposed.proposed.attachments] == ["quote", "signed"]
    assert [a.document_id for a in proposed.attachments] == ["quote"]  # in force until approved
    amended = await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens["mgr-1"])
    assert [a.document_id for a in amended.attachments] == ["quote", "signed"]
    versions = await p.api.ListContractVersions(pb.GetContractRequest(id=contract.id), metadata=rep)
    assert [(v.status, [a.document_id for a in v.attachments]) for v in versions.versions] == [
        ("superseded", ["quote"]),
        ("in_force", ["quote", "signed"]),
    ]


async def test_products_are_repriced_and_deactivated_with_their_version(platform: Platform) -> None:
    p = platform
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku="SKU-RETIRE", name="Old appliance", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
        ),
        metadata=p.tokens["admin"],
    )
    code, fields = await failure(
        p.api.UpdateProduct(
            pb.UpdateProductRequest(
                id=product.id,
                expected_version=product.version,
                set_prices=True,
                prices=[pb.ProductPrice(currency="CNY", amount="-1")],
            ),
            metadata=p.tokens["admin"],
        )
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["prices[0].amount"])
    repriced = await p.api.UpdateProduct(
        pb.UpdateProductRequest(
            id=product.id,
            expected_version=product.version,
            set_prices=True,
            prices=[pb.ProductPrice(currency="CNY", amount="120.00"), pb.ProductPrice(currency="EUR", amount="15.00")],
        ),
        metadata=p.tokens["admin"],
    )
    assert repriced.version == product.version + 1 and len(repriced.prices) == 2
    code, _ = await failure(
        p.api.UpdateProduct(
            pb.UpdateProductRequest(id=product.id, expected_version=product.version, active=False),
            metadata=p.tokens["admin"],
        )
    )
    assert code == grpc.StatusCode.ABORTED  # stale version
    code, _ = await failure(
        p.api.UpdateProduct(pb.UpdateProductRequest(id=product.id, active=False), metadata=p.tokens["rep-1"])
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    retired = await p.api.UpdateProduct(
        pb.UpdateProductRequest(id=product.id, expected_version=repriced.version, active=False),
        metadata=p.tokens["admin"],
    )
    assert not retired.active
    listed = await p.api.ListProducts(pb.ListProductsRequest(), metadata=p.tokens["rep-1"])
    assert product.id not in {item.id for item in listed.products}
    # An inactive product cannot go on a new contract.
    code, fields = await failure(
        p.api.CreateContract(
            pb.CreateContractRequest(
                customer_id="cust-1",
                branch_code="SH",
                currency="CNY",
                start_date="2026-04-01",
                end_date="2027-03-31",
                lines=[pb.ContractLineInput(product_id=product.id, quantity="1", discount_percent="0")],
            ),
            metadata=p.tokens["rep-1"],
        )
    )
    assert code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT)
    assert fields and fields[0].startswith("lines[0]")


async def test_merged_customers_contracts_follow_the_survivor(platform: Platform, nats_url: str) -> None:
    """customers' `merged` event re-attaches the duplicate's contracts (their receipts and plans hang
    off them); a later create or list naming the merged id is served for the survivor."""
    p = platform
    kept = await new_contract(p)  # for cust-1
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku="SKU-dup", name="Support", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
        ),
        metadata=p.tokens["admin"],
    )
    request = pb.CreateContractRequest(
        customer_id="cust-dup",
        branch_code="SH",
        currency="CNY",
        start_date="2026-04-01",
        end_date="2027-03-31",
        lines=[pb.ContractLineInput(product_id=product.id, quantity="1")],
    )
    moved = await p.api.CreateContract(request, metadata=p.tokens["rep-1"])

    async def of(customer_id: str) -> set[str]:
        page = await p.api.ListContracts(pb.ListContractsRequest(customer_id=customer_id), metadata=p.tokens["rep-1"])
        return {c.id for c in page.contracts}

    await publish_customer_merge(nats_url, "cust-1", ["cust-dup"])
    assert await eventually(lambda: _when(of("cust-1"), {kept.id, moved.id}))
    assert (
        await p.api.GetContract(pb.GetContractRequest(id=moved.id), metadata=p.tokens["rep-1"])
    ).customer_id == "cust-1"
    assert await of("cust-dup") == {kept.id, moved.id}  # the merged id lists the survivor's contracts
    late = await p.api.CreateContract(request, metadata=p.tokens["rep-1"])
    assert late.customer_id == "cust-1"
    # the same merge again changes nothing
    await publish_customer_merge(nats_url, "cust-1", ["cust-dup"])
    await eventually(lambda: _at_least(consumer_applied(p.running, "contracts-customer-merges"), 2))
    assert await of("cust-1") == {kept.id, moved.id, late.id}


async def _when(pending, expected):  # type: ignore[no-untyped-def]
    return (await pending) == expected


async def _at_least(pending, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await pending) >= n
