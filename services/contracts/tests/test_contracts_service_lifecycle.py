"""A contract's life through the contracts service's gRPC API on SQLite and PostgreSQL: from
creation to collection, scope, rejection and bad input, numbering without gaps under concurrent
creates, activation and completion, and the list's pages."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb

from contracts_service_fixtures import Platform, event_types, failure, new_contract, signed_contract
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


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
