"""Receivables (应收账款): outstanding amounts, ageing (账龄) and overdue reminders.

Pure aggregation over instalment rows as the persistence layer stores them (amount and paid so
far per instalment); amounts are totalled per currency, never converted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from ._validation import require_date
from .errors import ValidationFailed
from .money import Money


@dataclass(frozen=True)
class InstalmentRow:
    contract_id: str
    customer_id: str
    owner_id: str
    instalment_seq: int
    due_date: date
    amount: Money
    paid: Money
    last_reminded_on: date | None = None
    org_unit_id: str = ""  # the contract owner's unit when it was made

    @property
    def outstanding(self) -> Money:
        return self.amount - self.paid


class GroupBy(StrEnum):
    CONTRACT = "contract"
    CUSTOMER = "customer"
    OWNER = "owner"
    UNIT = "unit"


def _key(row: InstalmentRow, group_by: GroupBy) -> str:
    return {
        GroupBy.CONTRACT: row.contract_id,
        GroupBy.CUSTOMER: row.customer_id,
        GroupBy.OWNER: row.owner_id,
        GroupBy.UNIT: row.org_unit_id,
    }[group_by]


def outstanding_by(rows: Iterable[InstalmentRow], group_by: GroupBy) -> dict[str, dict[str, Money]]:
    """{contract/customer/owner/unit id: {currency: outstanding}}; fully paid groups are left out."""
    totals: dict[str, dict[str, Money]] = {}
    for row in rows:
        if not row.outstanding.is_positive:
            continue
        per_currency = totals.setdefault(_key(row, group_by), {})
        per_currency[row.amount.currency] = (
            per_currency.get(row.amount.currency, Money.zero(row.amount.currency)) + row.outstanding
        )
    return totals


class AgeingBucket(StrEnum):
    NOT_DUE = "not_due"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "over_90"


def days_past_due(due_date: date, as_of: date) -> int:
    """0 on or before the due date; 1 the day after."""
    return max(0, (require_date(as_of, "as_of") - due_date).days)


def ageing_bucket(due_date: date, as_of: date) -> AgeingBucket:
    days = days_past_due(due_date, as_of)
    if days == 0:
        return AgeingBucket.NOT_DUE
    if days <= 30:
        return AgeingBucket.DAYS_1_30
    if days <= 60:
        return AgeingBucket.DAYS_31_60
    if days <= 90:
        return AgeingBucket.DAYS_61_90
    return AgeingBucket.OVER_90


@dataclass(frozen=True)
class AgeingLine:
    """Outstanding of one group (or everything, key None) in one currency, per bucket."""

    key: str | None
    currency: str
    buckets: Mapping[AgeingBucket, Money]

    @property
    def total(self) -> Money:
        total = Money.zero(self.currency)
        for amount in self.buckets.values():
            total = total + amount
        return total


def ageing_report(rows: Iterable[InstalmentRow], as_of: date, group_by: GroupBy | None = None) -> list[AgeingLine]:
    """Outstanding amounts by days past due as of ``as_of``, one line per (group, currency),
    every bucket present (zero when empty), sorted by key then currency."""
    require_date(as_of, "as_of")
    sums: dict[tuple[str | None, str], dict[AgeingBucket, Money]] = {}
    for row in rows:
        if not row.outstanding.is_positive:
            continue
        currency = row.amount.currency
        key = None if group_by is None else _key(row, group_by)
        buckets = sums.setdefault((key, currency), {b: Money.zero(currency) for b in AgeingBucket})
        bucket = ageing_bucket(row.due_date, as_of)
        buckets[bucket] = buckets[bucket] + row.outstanding
    return [
        AgeingLine(key, currency, MappingProxyType(buckets))
        for (key, currency), buckets in sorted(sums.items(), key=lambda item: (item[0][0] or "", item[0][1]))
    ]


def reminders_due(rows: Iterable[InstalmentRow], today: date, every_days: int = 7) -> list[InstalmentRow]:
    """Overdue instalments with money outstanding that have not been reminded since they fell due,
    or not for ``every_days`` days. Idempotent: once the caller stores ``last_reminded_on = today``
    the row is not returned again until ``every_days`` later."""
    require_date(today, "today")
    if isinstance(every_days, bool) or not isinstance(every_days, int) or every_days < 1:
        raise ValidationFailed("must be a whole number of days, at least 1", "every_days")
    due: list[InstalmentRow] = []
    for row in rows:
        if not row.outstanding.is_positive or today <= row.due_date:
            continue
        last = row.last_reminded_on
        if last is None or last <= row.due_date or (today - last).days >= every_days:
            due.append(row)
    return due
