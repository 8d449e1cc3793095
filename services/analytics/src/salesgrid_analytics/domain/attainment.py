"""Target metrics achieved: the actual value of a metric over a period and selection, its monthly
trend, and actual against target (业绩达成). Facts count by their local date in `tz`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from .errors import ValidationFailed
from .facts import CheckInRecorded, ContractSigned, CustomerCreated, Fact, ReceiptRecorded, Selection, unique_facts
from .metrics import Metric
from .money import validate_currency
from .periods import Period, local_date, month_containing
from .targets import Target, attainment


def _metric_value(fact: Fact, metric: Metric, currency: str | None) -> Decimal | int:
    match metric, fact:
        case Metric.COLLECTED_REVENUE, ReceiptRecorded() if fact.currency == currency:
            return fact.amount
        case Metric.CONTRACT_AMOUNT, ContractSigned() if fact.currency == currency:
            return fact.amount
        case Metric.NEW_CUSTOMERS, CustomerCreated():
            return 1
        case Metric.VISITS, CheckInRecorded(flagged=False):
            return 1
    return 0


def _zero(metric: Metric) -> Decimal | int:
    return Decimal("0.00") if metric.is_money else 0


def _check_currency(metric: Metric, currency: str | None) -> str | None:
    if metric.is_money:
        if currency is None:
            raise ValidationFailed(f"{metric.value} needs a currency", "currency")
        return validate_currency(currency)
    return None


def actual(
    facts: Iterable[Fact],
    *,
    metric: Metric,
    period: Period,
    tz: ZoneInfo,
    selection: Selection = Selection(),
    currency: str | None = None,
) -> Decimal | int:
    """The achieved value of `metric` in `period` for the selection (money metrics need `currency`)."""
    currency = _check_currency(metric, currency)
    total = _zero(metric)
    for fact in unique_facts(facts):
        if selection.covers(fact.owner_id, fact.org_path) and period.contains(fact.occurred_at, tz):
            total += _metric_value(fact, metric, currency)
    return total


@dataclass(frozen=True)
class TrendPoint:
    month: Period
    value: Decimal | int


def monthly_trend(
    facts: Iterable[Fact],
    *,
    metric: Metric,
    period: Period,
    tz: ZoneInfo,
    selection: Selection = Selection(),
    currency: str | None = None,
) -> tuple[TrendPoint, ...]:
    """`metric` per month of `period`, every month present (zero when nothing happened)."""
    currency = _check_currency(metric, currency)
    buckets: dict[Period, Decimal | int] = {m: _zero(metric) for m in period.months()}
    for fact in unique_facts(facts):
        if not selection.covers(fact.owner_id, fact.org_path):
            continue
        month = month_containing(local_date(fact.occurred_at, tz))
        if month in buckets:
            buckets[month] += _metric_value(fact, metric, currency)
    return tuple(TrendPoint(m, v) for m, v in buckets.items())


@dataclass(frozen=True)
class AttainmentRow:
    target: Target
    actual: Decimal | int
    attainment: Decimal | None  # None when the target is zero


def attainment_report(facts: Iterable[Fact], targets: Iterable[Target], *, tz: ZoneInfo) -> tuple[AttainmentRow, ...]:
    """Actual vs target for each target's period and holder (a unit covers its whole subtree)."""
    known = unique_facts(facts)
    rows = []
    for target in targets:
        selection = Selection(target.holder.org_path, target.holder.rep_id)
        value = actual(
            known, metric=target.metric, period=target.period, tz=tz, selection=selection, currency=target.currency
        )
        rows.append(AttainmentRow(target, value, attainment(value, target.amount)))
    return tuple(rows)
