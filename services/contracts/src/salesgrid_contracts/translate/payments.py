"""Payment plans, receipts, refunds and invoices -> proto."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.payment_records import InvoiceRecord, PaymentPlan, ReceiptRecord, RefundRecord
from salesgrid_contracts.domain.receivables import AgeingBucket, AgeingLine


def plan_pb(plan: PaymentPlan) -> pb.PaymentPlan:
    return pb.PaymentPlan(
        contract_id=plan.contract_id,
        currency=plan.currency,
        instalments=[
            pb.Instalment(
                seq=i.seq,
                due_date=i.due_date.isoformat(),
                amount=str(i.amount.amount),
                paid=str(i.paid.amount),
                status=i.status.value,
            )
            for i in plan.instalments
        ],
        credit=str(plan.credit.amount),
    )


def receipt_pb(record: ReceiptRecord) -> pb.Receipt:
    receipt = record.receipt
    return pb.Receipt(
        id=receipt.receipt_id,
        contract_id=record.contract_id,
        received_on=receipt.received_on.isoformat(),
        amount=str(receipt.amount.amount),
        currency=receipt.amount.currency,
        method=receipt.method.value,
        reference=receipt.reference,
        allocations=[
            pb.ReceiptAllocation(instalment_seq=a.instalment_seq, amount=str(a.amount.amount))
            for a in record.allocations
        ],
    )


def refund_pb(record: RefundRecord) -> pb.Refund:
    refund = record.refund
    return pb.Refund(
        id=refund.refund_id,
        contract_id=record.contract_id,
        refunded_on=refund.refunded_on.isoformat(),
        amount=str(refund.amount.amount),
        currency=refund.amount.currency,
        reason=refund.reason,
    )


def invoice_pb(record: InvoiceRecord) -> pb.Invoice:
    invoice = record.invoice
    return pb.Invoice(
        id=record.invoice_id,
        contract_id=record.contract_id,
        number=invoice.number,
        amount=str(invoice.amount.amount),
        currency=invoice.amount.currency,
        issued_on=invoice.issued_on.isoformat(),
        status=invoice.status.value,
    )


def receivables_pb(totals: Mapping[str, Mapping[str, Money]]) -> pb.Receivables:
    return pb.Receivables(
        groups=[
            pb.ReceivablesGroup(
                key=key,
                outstanding=[pb.CurrencyAmount(currency=c, amount=str(m.amount)) for c, m in sorted(per.items())],
            )
            for key, per in sorted(totals.items())
        ]
    )


def ageing_pb(as_of: date, lines: Iterable[AgeingLine]) -> pb.Ageing:
    return pb.Ageing(
        as_of=as_of.isoformat(),
        lines=[
            pb.AgeingLine(
                key=line.key or "",
                currency=line.currency,
                not_due=str(line.buckets[AgeingBucket.NOT_DUE].amount),
                days_1_30=str(line.buckets[AgeingBucket.DAYS_1_30].amount),
                days_31_60=str(line.buckets[AgeingBucket.DAYS_31_60].amount),
                days_61_90=str(line.buckets[AgeingBucket.DAYS_61_90].amount),
                over_90=str(line.buckets[AgeingBucket.OVER_90].amount),
                total=str(line.total.amount),
            )
            for line in lines
        ],
    )
