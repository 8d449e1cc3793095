"""Performance (业绩) per rep or per org level, daily-report compliance and leaderboards
(attainment.py: a target metric's actual value, monthly trend and attainment).

Facts are placed in a period by their local date in `tz` (daily reports by the day they are
for). Receivables are what signed contracts still await at the end of the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from salesgrid_common import analytics_reports
from salesgrid_common.analytics_reports import RANKABLE_FIELDS as RANKABLE_FIELDS  # the fields ranked on

from . import orgpath
from .errors import ValidationFailed
from .facts import (
    CheckInRecorded,
    ContractSigned,
    CustomerCreated,
    DailyReportFalsified,
    DailyReportMissing,
    DailyReportSubmitted,
    Fact,
    FollowUpLogged,
    GateViolated,
    ReceiptRecorded,
    ReportTiming,
    Selection,
    SlaOverdue,
    unique_facts,
)
from .money import ratio, validate_currency
from .periods import Period


@dataclass(frozen=True)
class PerformanceRow:
    key: str  # rep id, or the org path of the group
    contract_amount: Decimal
    collections: Decimal
    new_customers: int
    follow_ups: int
    visits: int
    flagged_visits: int
    reports_on_time: int
    reports_late: int
    reports_missing: int
    reports_falsified: int
    report_compliance: Decimal | None  # on time / (on time + late + missing)
    sla_overdue: int
    gate_violations: int
    receivables_outstanding: Decimal


@dataclass
class _Tally:
    contract_amount: Decimal = Decimal("0.00")
    collections: Decimal = Decimal("0.00")
    new_customers: int = 0
    follow_ups: int = 0
    visits: int = 0
    flagged_visits: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    falsified: int = 0
    sla_overdue: int = 0
    gate_violations: int = 0
    receivables: Decimal = Decimal("0.00")


def _business_date_in(fact: Fact, period: Period, tz: ZoneInfo) -> bool:
    if isinstance(fact, (DailyReportSubmitted, DailyReportMissing, DailyReportFalsified)):
        return period.contains_date(fact.report_date)
    return period.contains(fact.occurred_at, tz)


def _count(tally: _Tally, fact: Fact, currency: str) -> None:
    match fact:
        case ContractSigned() if fact.currency == currency:
            tally.contract_amount += fact.amount
        case ReceiptRecorded() if fact.currency == currency:
            tally.collections += fact.amount
        case CustomerCreated():
            tally.new_customers += 1
        case FollowUpLogged():
            tally.follow_ups += 1
        case CheckInRecorded(flagged=True):
            tally.flagged_visits += 1
        case CheckInRecorded():
            tally.visits += 1
        case DailyReportSubmitted(timing=ReportTiming.ON_TIME):
            tally.on_time += 1
        case DailyReportSubmitted():
            tally.late += 1
        case DailyReportMissing():
            tally.missing += 1
        case DailyReportFalsified():
            tally.falsified += 1
        case SlaOverdue():
            tally.sla_overdue += 1
        case GateViolated():
            tally.gate_violations += 1


def _grouper(group_depth: int | None) -> Callable[[Fact], str]:
    if group_depth is None:
        return lambda f: f.owner_id
    if isinstance(group_depth, bool) or not isinstance(group_depth, int) or group_depth < 1:
        raise ValidationFailed("must be a positive org-tree depth, or none for per-rep", "group_depth")
    return lambda f: orgpath.truncate(f.org_path, group_depth)


def performance(
    facts: Iterable[Fact],
    *,
    period: Period,
    tz: ZoneInfo,
    currency: str,
    selection: Selection = Selection(),
    group_depth: int | None = None,
) -> tuple[PerformanceRow, ...]:
    """One row per rep (`group_depth` None) or per org unit at `group_depth`, sorted by key.

    Depths: orgpath.REGION_DEPTH, BRANCH_DEPTH, TEAM_DEPTH. A group appears when it has a
    fact in the period or receivables outstanding at its end.
    """
    currency = validate_currency(currency)
    group_of = _grouper(group_depth)
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    selected = [f for f in unique_facts(facts) if selection.covers(f.owner_id, f.org_path)]
    for fact in selected:
        if _business_date_in(fact, period, tz):
            _count(tallies[group_of(fact)], fact, currency)
    for key, amount in _receivables(selected, period.end_instant(tz), currency, group_of).items():
        tallies[key].receivables += amount
    return tuple(_row(key, tallies[key]) for key in sorted(tallies))


def _receivables(
    facts: list[Fact], until: datetime, currency: str, group_of: Callable[[Fact], str]
) -> dict[str, Decimal]:
    """Per group: signed − received per contract (never below zero), as of `until`."""
    signed: dict[str, ContractSigned] = {}
    received: dict[str, Decimal] = defaultdict(Decimal)
    for fact in facts:
        if fact.occurred_at >= until:
            continue
        if isinstance(fact, ContractSigned) and fact.currency == currency:
            signed[fact.contract_id] = fact
        elif isinstance(fact, ReceiptRecorded) and fact.currency == currency:
            received[fact.contract_id] += fact.amount
    result: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for contract_id, contract in signed.items():
        outstanding = contract.amount - received[contract_id]
        if outstanding > 0:
            result[group_of(contract)] += outstanding
    return result


def _row(key: str, t: _Tally) -> PerformanceRow:
    return PerformanceRow(
        key=key,
        contract_amount=t.contract_amount,
        collections=t.collections,
        new_customers=t.new_customers,
        follow_ups=t.follow_ups,
        visits=t.visits,
        flagged_visits=t.flagged_visits,
        reports_on_time=t.on_time,
        reports_late=t.late,
        reports_missing=t.missing,
        reports_falsified=t.falsified,
        report_compliance=ratio(t.on_time, t.on_time + t.late + t.missing),
        sla_overdue=t.sla_overdue,
        gate_violations=t.gate_violations,
        receivables_outstanding=t.receivables,
    )


@dataclass(frozen=True)
class ComplianceRow:
    """Daily reports of a rep or unit: due = on time + late + missing; falsified counted apart."""

    key: str
    on_time: int
    late: int
    missing: int
    falsified: int

    @property
    def due(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def compliance(self) -> Decimal | None:
        return ratio(self.on_time, self.due)


def compliance(rows: Iterable[PerformanceRow], total_key: str) -> tuple[tuple[ComplianceRow, ...], ComplianceRow]:
    """The rows that had any daily report due or falsified, and their total under `total_key`."""
    lines = tuple(
        ComplianceRow(r.key, r.reports_on_time, r.reports_late, r.reports_missing, r.reports_falsified)
        for r in rows
        if r.reports_on_time + r.reports_late + r.reports_missing + r.reports_falsified
    )
    return lines, ComplianceRow(
        total_key, *(sum(getattr(line, name) for line in lines) for name in ("on_time", "late", "missing", "falsified"))
    )


@dataclass(frozen=True)
class RankedEntry:
    rank: int
    key: str
    value: Decimal | int


def rank(values: Mapping[str, Decimal | int], *, descending: bool = True) -> tuple[RankedEntry, ...]:
    """Competition ranking (1, 2, 2, 4): ties share a rank; ties are listed by key."""
    ordered = sorted(values.items(), key=lambda kv: (-kv[1] if descending else kv[1], kv[0]))
    result: list[RankedEntry] = []
    for position, (key, value) in enumerate(ordered, start=1):
        shared = result[-1].rank if result and result[-1].value == value else position
        result.append(RankedEntry(shared, key, value))
    return tuple(result)


def leaderboard(
    rows: Iterable[PerformanceRow], by: str, *, descending: bool = True, limit: int | None = None
) -> tuple[RankedEntry, ...]:
    """Rank performance rows on one field (e.g. "contract_amount"); rows with no value (None) are left out."""
    by = analytics_reports.parse_by("leaderboard", by)
    if limit is not None and limit < 1:
        raise ValidationFailed("must be at least 1", "limit")
    values = {r.key: getattr(r, by) for r in rows if getattr(r, by) is not None}
    ranked = rank(values, descending=descending)
    return ranked[:limit] if limit is not None else ranked
