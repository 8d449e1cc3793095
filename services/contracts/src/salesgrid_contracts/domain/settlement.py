"""Settlement: receipts and refunds replayed over a contract's instalments, oldest first, what
each instalment has been paid and what is left over as the contract's credit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from .errors import ValidationFailed
from .money import Money, sum_money
from .payments import Instalment, Receipt, Refund


class InstalmentStatus(StrEnum):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


@dataclass(frozen=True)
class InstalmentBalance:
    seq: int
    due_date: date
    amount: Money
    paid: Money

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid

    @property
    def status(self) -> InstalmentStatus:
        if self.paid.is_zero:
            return InstalmentStatus.UNPAID
        return InstalmentStatus.PAID if self.paid == self.amount else InstalmentStatus.PARTIALLY_PAID


@dataclass(frozen=True)
class Allocation:
    """Part of a receipt (positive) or refund (negative) applied to an instalment, or to the
    contract's credit when ``instalment_seq`` is None."""

    source_id: str
    instalment_seq: int | None
    amount: Money


@dataclass(frozen=True)
class Settlement:
    balances: tuple[InstalmentBalance, ...]
    allocations: tuple[Allocation, ...]
    credit: Money

    @property
    def outstanding(self) -> Money:
        return sum_money((b.outstanding for b in self.balances), self.credit.currency)


def settle(
    instalments: Sequence[Instalment], receipts: Sequence[Receipt], refunds: Sequence[Refund], currency: str
) -> Settlement:
    """Replay receipts and refunds in date order (receipts before refunds on the same day) over
    the plan: receipts pay the oldest due instalments first, the excess becomes credit; refunds
    take back credit first, then the latest paid instalments."""
    plan = sorted(instalments, key=lambda i: (i.due_date, i.seq))
    paid = {i.seq: Money.zero(currency) for i in plan}
    credit = Money.zero(currency)
    allocations: list[Allocation] = []
    events: list[tuple[date, int, str, Money]] = [(r.received_on, 0, r.receipt_id, r.amount) for r in receipts]
    events += [(r.refunded_on, 1, r.refund_id, r.amount) for r in refunds]
    for _, kind, source_id, amount in sorted(events, key=lambda e: (e[0], e[1], e[2])):
        left = amount
        if kind == 0:
            for item in plan:
                share = min(left, item.amount - paid[item.seq])
                if share.is_positive:
                    paid[item.seq] += share
                    left -= share
                    allocations.append(Allocation(source_id, item.seq, share))
            if left.is_positive:
                credit += left
                allocations.append(Allocation(source_id, None, left))
            continue
        share = min(left, credit)
        if share.is_positive:
            credit -= share
            left -= share
            allocations.append(Allocation(source_id, None, -share))
        for item in reversed(plan):
            share = min(left, paid[item.seq])
            if share.is_positive:
                paid[item.seq] -= share
                left -= share
                allocations.append(Allocation(source_id, item.seq, -share))
        if left.is_positive:
            raise ValidationFailed(f"refund {source_id} exceeds what had been collected by then", "refunds")
    balances = tuple(
        InstalmentBalance(i.seq, i.due_date, i.amount, paid[i.seq]) for i in sorted(plan, key=lambda i: i.seq)
    )
    return Settlement(balances, tuple(allocations), credit)
