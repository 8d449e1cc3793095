"""Cost of sale (销售成本(费用)的归集): paid expense claims per rep, customer or opportunity, and the
expense-to-collection ratio (expenses paid / money collected) per rep and overall.

Built from the expenses service's `claim.paid` events (each line keeps the customer and
opportunity it was spent on) and the contracts service's receipts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from salesgrid_common import analytics_reports
from salesgrid_common.analytics_reports import CostBy

from .facts import Fact, ReceiptRecorded, Selection, _MoneyFact, unique_facts
from .money import money, ratio, round_money
from .periods import Period


def parse_by(value: str) -> CostBy:
    return CostBy(analytics_reports.parse_by("cost_of_sale", value))


@dataclass(frozen=True, kw_only=True)
class ExpensePaid(_MoneyFact):
    """A paid claim: `amount` its total, `lines` [{"customer_id", "opportunity_id", "amount"}]."""

    claim_id: str
    lines: tuple[Mapping[str, str], ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "lines", tuple(dict(line) for line in self.lines))
        for index, line in enumerate(self.lines):
            money(line.get("amount", ""), f"lines[{index}].amount")


@dataclass(frozen=True)
class CostLine:
    key: str  # the rep, customer or opportunity id ("" for expenses not spent on one)
    expenses: Decimal
    claims: int
    collected: Decimal | None  # per rep and in total only: collections are known per owner
    ratio: Decimal | None


def _in_view(fact: Fact, period: Period, tz: ZoneInfo, selection: Selection, currency: str) -> bool:
    return (
        selection.covers(fact.owner_id, fact.org_path)
        and period.contains(fact.occurred_at, tz)
        and getattr(fact, "currency", None) == currency
    )


def cost_of_sale(
    facts: Iterable[Fact],
    *,
    by: CostBy,
    period: Period,
    tz: ZoneInfo,
    currency: str,
    selection: Selection = Selection(),
) -> tuple[tuple[CostLine, ...], CostLine]:
    """Lines sorted by expenses (largest first, then key) and the selection's total."""
    expenses: dict[str, Decimal] = defaultdict(Decimal)
    claims: dict[str, set[str]] = defaultdict(set)
    collected: dict[str, Decimal] = defaultdict(Decimal)
    for fact in unique_facts(facts):
        if not _in_view(fact, period, tz, selection, currency):
            continue
        if isinstance(fact, ReceiptRecorded):
            collected[fact.owner_id] += fact.amount
        elif isinstance(fact, ExpensePaid):
            if by is CostBy.REP:
                expenses[fact.owner_id] += fact.amount
                claims[fact.owner_id].add(fact.claim_id)
                continue
            for line in fact.lines:
                key = line.get(f"{by.value}_id", "")
                expenses[key] += Decimal(line["amount"])
                claims[key].add(fact.claim_id)
    rows = []
    for key, spent in expenses.items():
        got = collected.get(key, Decimal(0)) if by is CostBy.REP else None
        rows.append(
            CostLine(
                key,
                round_money(spent),
                len(claims[key]),
                None if got is None else round_money(got),
                None if got is None else ratio(spent, got),
            )
        )
    rows.sort(key=lambda r: (-r.expenses, r.key))
    spent_total, got_total = sum(expenses.values(), Decimal(0)), sum(collected.values(), Decimal(0))
    all_claims = {claim for ids in claims.values() for claim in ids}
    total = CostLine(
        "", round_money(spent_total), len(all_claims), round_money(got_total), ratio(spent_total, got_total)
    )
    return tuple(rows), total
