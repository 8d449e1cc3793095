"""What daily reports count against reps (工作日报: 延交, 缺交, 虚报): the infractions of a report,
the fines per rep under a unit's policy, and compliance counts and rates per rep and team."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .daily_reports import DailyReport, Infraction, ReportPolicy, ReportStatus
from .money import Money

RATE_PLACES = Decimal("0.0001")


def infractions(report: DailyReport) -> list[Infraction]:
    """What one report counts against its rep: late or missing, plus falsified (both can apply)."""
    found: list[Infraction] = []
    if report.status is ReportStatus.LATE:
        found.append(Infraction.LATE)
    elif report.status is ReportStatus.MISSING:
        found.append(Infraction.MISSING)
    if report.falsified:
        found.append(Infraction.FALSIFIED)
    return found


@dataclass(frozen=True)
class LedgerLine:
    infraction: Infraction
    count: int
    unit_amount: Money
    amount: Money


@dataclass(frozen=True)
class RepLedger:
    rep_id: str
    lines: tuple[LedgerLine, ...]  # one per infraction kind, in Infraction order, zero counts included
    total: Money


def policy_ledger(reports: Iterable[DailyReport], policy: ReportPolicy = ReportPolicy()) -> list[RepLedger]:
    """Occurrences and amounts per rep over the given reports, sorted by rep id."""
    per_rep: dict[str, Counter[Infraction]] = {}
    for report in reports:
        counter = per_rep.setdefault(report.rep_id, Counter())
        counter.update(infractions(report))
    ledgers: list[RepLedger] = []
    for rep_id in sorted(per_rep):
        lines = tuple(
            LedgerLine(kind, per_rep[rep_id][kind], policy.fine(kind), policy.fine(kind).times(per_rep[rep_id][kind]))
            for kind in Infraction
        )
        total = Money.zero(policy.currency)
        for line in lines:
            total = total + line.amount
        ledgers.append(RepLedger(rep_id, lines, total))
    return ledgers


@dataclass(frozen=True)
class ComplianceCounts:
    on_time: int
    late: int
    missing: int
    falsified: int
    compliant: int  # on time and not falsified
    total: int

    @property
    def rate(self) -> Decimal | None:
        """Share of compliant reports, four places; ``None`` when nothing was due."""
        if self.total == 0:
            return None
        return (Decimal(self.compliant) / Decimal(self.total)).quantize(RATE_PLACES, ROUND_HALF_UP)


@dataclass(frozen=True)
class TeamCompliance:
    per_rep: dict[str, ComplianceCounts]
    team: ComplianceCounts


def compliance_summary(reports: Iterable[DailyReport], rep_ids: Iterable[str] = ()) -> TeamCompliance:
    """Counts and compliance rate per rep and for the team; ``rep_ids`` adds reps with no records."""
    grouped: dict[str, list[DailyReport]] = {rep: [] for rep in rep_ids}
    all_reports: list[DailyReport] = []
    for report in reports:
        grouped.setdefault(report.rep_id, []).append(report)
        all_reports.append(report)
    return TeamCompliance(
        per_rep={rep: _count(grouped[rep]) for rep in sorted(grouped)},
        team=_count(all_reports),
    )


def _count(reports: list[DailyReport]) -> ComplianceCounts:
    status = Counter(report.status for report in reports)
    return ComplianceCounts(
        on_time=status[ReportStatus.ON_TIME],
        late=status[ReportStatus.LATE],
        missing=status[ReportStatus.MISSING],
        falsified=sum(1 for report in reports if report.falsified),
        compliant=sum(1 for r in reports if r.status is ReportStatus.ON_TIME and not r.falsified),
        total=len(reports),
    )
