"""Payment plans (收款计划), receipts (回款), refunds and invoices of a contract.

Receipts are allocated to instalments oldest due date first; whatever exceeds the plan is kept
as credit on the contract. Refunds give back credit first, then the most recently due payments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TypeGuard
from enum import StrEnum

from ._validation import require_text
from .contracts import IN_FORCE, Contract, ContractStatus
from .errors import Conflict, FailedPrecondition, ValidationFailed
from .money import Money, sum_money


def _is_date(value: object) -> TypeGuard[date]:
    return isinstance(value, date) and not isinstance(value, datetime)


@dataclass(frozen=True)
class Instalment:
    seq: int
    due_date: date
    amount: Money


def build_payment_plan(
    total: Money, start_date: date, instalments: Sequence[tuple[date, Money]]
) -> tuple[Instalment, ...]:
    """Number the (due date, amount) pairs 1..n after checking: amounts positive and in the
    contract currency, due dates in order and not before the start, and the sum exactly the
    contract total (the error names the difference)."""
    if not instalments:
        raise ValidationFailed("a payment plan needs at least one instalment", "instalments")
    violations: list[tuple[str, str]] = []
    previous: date | None = None
    for index, (due_date, amount) in enumerate(instalments):
        field = f"instalments[{index}]"
        if not _is_date(due_date):
            violations.append((f"{field}.due_date", "must be a date"))
        else:
            if due_date < start_date:
                violations.append((f"{field}.due_date", f"must not be before the contract start {start_date}"))
            if previous is not None and due_date < previous:
                violations.append((f"{field}.due_date", "due dates must be in order"))
            previous = due_date
        if not isinstance(amount, Money) or amount.currency != total.currency:
            violations.append((f"{field}.amount", f"must be Money in {total.currency}"))
        elif not amount.is_positive:
            violations.append((f"{field}.amount", "must be greater than 0"))
    if violations:
        raise ValidationFailed.many(violations)
    planned = sum_money((amount for _, amount in instalments), total.currency)
    if planned != total:
        difference = total - planned
        direction = "short of" if difference.is_positive else "over"
        raise ValidationFailed(
            f"instalments sum to {planned}, {Money(abs(difference.amount), total.currency)} {direction} "
            f"the contract total {total}",
            "instalments",
        )
    return tuple(Instalment(i + 1, d, a) for i, (d, a) in enumerate(instalments))


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    CASH = "cash"
    CHEQUE = "cheque"
    CARD = "card"
    OTHER = "other"


@dataclass(frozen=True)
class Receipt:
    receipt_id: str
    received_on: date
    amount: Money
    method: PaymentMethod
    reference: str


@dataclass(frozen=True)
class Refund:
    refund_id: str
    refunded_on: date
    amount: Money
    reason: str


def _check_payment(contract: Contract, amount: object, on: object, today: date, on_field: str) -> list[tuple[str, str]]:
    violations: list[tuple[str, str]] = []
    if not isinstance(amount, Money) or amount.currency != contract.currency:
        violations.append(("amount", f"must be Money in {contract.currency}"))
    elif not amount.is_positive:
        violations.append(("amount", "must be greater than 0"))
    if not _is_date(on):
        violations.append((on_field, "must be a date"))
    elif on > today:
        violations.append((on_field, "must not be in the future"))
    return violations


def record_receipt(
    contract: Contract,
    *,
    receipt_id: str,
    received_on: date,
    amount: Money,
    method: str,
    reference: str = "",
    today: date,
) -> Receipt:
    """A receipt (回款) against a signed or active contract."""
    if contract.status not in IN_FORCE or contract.superseded:
        raise FailedPrecondition(
            f"receipts are recorded only on signed or active contracts, this one is {contract.status.value}", "status"
        )
    violations = _check_payment(contract, amount, received_on, today, "received_on")
    try:
        payment_method = PaymentMethod(method)
    except ValueError:
        violations.append(("method", f"must be one of {', '.join(m.value for m in PaymentMethod)}"))
    if not isinstance(reference, str) or len(reference) > 100:
        violations.append(("reference", "must be text of at most 100 characters"))
    if violations:
        raise ValidationFailed.many(violations)
    return Receipt(
        require_text(receipt_id, "receipt_id", max_length=64), received_on, amount, payment_method, reference.strip()
    )


def net_collected(receipts: Iterable[Receipt], refunds: Iterable[Refund], currency: str) -> Money:
    return sum_money((r.amount for r in receipts), currency) - sum_money((r.amount for r in refunds), currency)


REFUNDABLE: frozenset[ContractStatus] = IN_FORCE | {ContractStatus.COMPLETED, ContractStatus.TERMINATED}


def record_refund(
    contract: Contract,
    *,
    refund_id: str,
    refunded_on: date,
    amount: Money,
    reason: str,
    receipts: Sequence[Receipt],
    refunds: Sequence[Refund],
    today: date,
) -> Refund:
    """A refund of money received; never more than what has been collected net of earlier refunds."""
    if contract.status not in REFUNDABLE:
        raise FailedPrecondition(f"nothing can have been collected on a {contract.status.value} contract", "status")
    violations = _check_payment(contract, amount, refunded_on, today, "refunded_on")
    if violations:
        raise ValidationFailed.many(violations)
    available = net_collected(receipts, refunds, contract.currency)
    if amount > available:
        raise ValidationFailed(f"exceeds the {available} collected and not yet refunded", "amount")
    return Refund(
        require_text(refund_id, "refund_id", max_length=64),
        refunded_on,
        amount,
        require_text(reason, "reason", max_length=2000),
    )


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    VOID = "void"


@dataclass(frozen=True)
class Invoice:
    number: str
    amount: Money
    issued_on: date
    status: InvoiceStatus = InvoiceStatus.ISSUED


def invoiced_total(invoices: Iterable[Invoice], currency: str) -> Money:
    """Sum of the invoices not voided."""
    return sum_money((i.amount for i in invoices if i.status is InvoiceStatus.ISSUED), currency)


INVOICEABLE: frozenset[ContractStatus] = IN_FORCE | {ContractStatus.COMPLETED}


def issue_invoice(
    contract: Contract, existing: Sequence[Invoice], *, number: str, amount: Money, issued_on: date, today: date
) -> Invoice:
    """An invoice on a signed/active/completed contract; numbers are unique and the invoiced total
    (voided invoices excluded) never exceeds the contract total."""
    if contract.status not in INVOICEABLE or contract.superseded:
        raise FailedPrecondition(f"cannot invoice a {contract.status.value} contract", "status")
    invoice_number = require_text(number, "number", max_length=64)
    violations = _check_payment(contract, amount, issued_on, today, "issued_on")
    if violations:
        raise ValidationFailed.many(violations)
    if any(i.number == invoice_number for i in existing):
        raise Conflict(f"invoice {invoice_number} already exists", "number")
    already = invoiced_total(existing, contract.currency)
    if already + amount > contract.total:
        excess = already + amount - contract.total
        raise ValidationFailed(
            f"would bring the invoiced total to {already + amount}, {excess} above the contract total {contract.total}",
            "amount",
        )
    return Invoice(invoice_number, amount, issued_on)


def void_invoice(invoice: Invoice) -> Invoice:
    if invoice.status is InvoiceStatus.VOID:
        raise FailedPrecondition(f"invoice {invoice.number} is already void", "status")
    return replace(invoice, status=InvoiceStatus.VOID)
