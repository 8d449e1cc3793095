"""Money after signing through the contracts service's gRPC API on SQLite and PostgreSQL:
receivables and ageing by unit in scope, refunds never above what was collected, invoices never
above the contract's total, and instalment reminders sent once per due point."""

from __future__ import annotations

from datetime import timedelta

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.events.v1.contracts_events_pb2 import ContractsApprovalStep, ContractsInstalmentOverdue
from salesgrid_common.actors import system_actor
from salesgrid_contracts.usecases import ContractsUseCases

from contracts_service_fixtures import Platform, envelopes, event_types, failure, new_contract, signed_contract
from contracts_service_fixtures import platform  # noqa: F401 - fixtures


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
