"""Payment plans, receipts, refunds and invoices -> proto."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid_contracts import models
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.receivables import AgeingBucket, AgeingLine
from salesgrid_contracts.stores.payments import PlanView, ReceiptView


def plan_pb(view: PlanView) -> pb.PaymentPlan:
    currency = view.contract.currency
    items = []
    for i in view.instalments:
        status = "unpaid" if i.paid == 0 else ("paid" if i.paid == i.amount else "partially_paid")
        items.append(
            pb.Instalment(
                seq=i.seq,
                due_date=i.due_date.isoformat(),
                amount=str(Money(i.amount, currency).amount),
                paid=str(Money(i.paid, currency).amount),
                status=status,
            )
        )
    return pb.PaymentPlan(
        contract_id=view.contract.id,
        currency=currency,
        instalments=items,
        credit=str(Money(view.contract.credit, currency).amount),
    )


def receipt_pb(view: ReceiptView) -> pb.Receipt:
    row = view.row
    return pb.Receipt(
        id=row.id,
        contract_id=row.contract_id,
        received_on=row.received_on.isoformat(),
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        method=row.method,
        reference=row.reference,
        allocations=[
            pb.ReceiptAllocation(instalment_seq=a.instalment_seq, amount=str(Money(a.amount, row.currency).amount))
            for a in sorted(view.allocations, key=lambda a: a.instalment_seq)
        ],
    )


def refund_pb(row: models.RefundRow) -> pb.Refund:
    return pb.Refund(
        id=row.id,
        contract_id=row.contract_id,
        refunded_on=row.refunded_on.isoformat(),
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        reason=row.reason,
    )


def invoice_pb(row: models.InvoiceRow) -> pb.Invoice:
    return pb.Invoice(
        id=row.id,
        contract_id=row.contract_id,
        number=row.number,
        amount=str(Money(row.amount, row.currency).amount),
        currency=row.currency,
        issued_on=row.issued_on.isoformat(),
        status=row.status,
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
