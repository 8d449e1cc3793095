"""Forecast: aggregate opportunity rows by owner / team / org subtree and close month.

Categories are exclusive per opportunity:
- ``won``: closed won;
- ``commit``: open with probability ≥ ``COMMIT_MIN_PROBABILITY`` (60) or flagged commit by the rep;
- ``best_case``: other open rows with probability ≥ ``BEST_CASE_MIN_PROBABILITY`` (25);
- ``pipeline``: the remaining open rows.
Lost rows are left out. A conventional "best case" forecast is won + commit + best_case.
Amounts in different currencies are never added: the currency is part of every group key.
Weighted amounts follow `salesgrid_common.weighted_pipeline` (won in full, open × stage probability),
summed exactly and rounded half up to minor units once per bucket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from salesgrid_common import orgpaths
from salesgrid_common.weighted_pipeline import weighted_amount

from .errors import ValidationFailed
from salesgrid_common.currencies import round_to_currency

from .money import Money

COMMIT_MIN_PROBABILITY = 60
BEST_CASE_MIN_PROBABILITY = 25


class RowStatus(str, Enum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Category(str, Enum):
    WON = "won"
    COMMIT = "commit"
    BEST_CASE = "best_case"
    PIPELINE = "pipeline"


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    opportunity_id: str
    owner_id: str
    team_id: str
    org_path: str  # owner's org path, unit ids joined by "/", e.g. "hq/east/shanghai/team-3"
    close_date: date  # expected close date (open) or actual close date (won/lost)
    amount: Money
    probability: int  # percent, usually the stage's probability
    status: RowStatus
    commit_flag: bool = False


@dataclass(frozen=True, slots=True)
class ForecastBucket:
    key: str  # owner id, team id or subtree path
    month: str  # "YYYY-MM" of the close date
    currency: str
    count: int
    amount: Decimal
    weighted_amount: Decimal
    won_amount: Decimal
    commit_amount: Decimal
    best_case_amount: Decimal
    pipeline_amount: Decimal


class GroupBy(str, Enum):
    OWNER = "owner"
    TEAM = "team"


def category(row: OpportunityRow) -> Category | None:
    """The forecast category of one row; None for lost rows."""
    if row.status is RowStatus.LOST:
        return None
    if row.status is RowStatus.WON:
        return Category.WON
    if row.commit_flag or row.probability >= COMMIT_MIN_PROBABILITY:
        return Category.COMMIT
    if row.probability >= BEST_CASE_MIN_PROBABILITY:
        return Category.BEST_CASE
    return Category.PIPELINE


def _check_rows(rows: list[OpportunityRow]) -> None:
    problems = [
        (f"rows[{i}].probability", "must be a whole percent 0..100")
        for i, row in enumerate(rows)
        if isinstance(row.probability, bool) or not isinstance(row.probability, int) or not 0 <= row.probability <= 100
    ]
    if problems:
        raise ValidationFailed.many(problems)


def _aggregate(rows: Iterable[OpportunityRow], key_of: Callable[[OpportunityRow], str]) -> list[ForecastBucket]:
    rows = list(rows)
    _check_rows(rows)
    sums: dict[tuple[str, str, str], dict[str, Decimal | int]] = {}
    for row in rows:
        row_category = category(row)
        if row_category is None:
            continue
        group = (key_of(row), f"{row.close_date:%Y-%m}", row.amount.currency)
        acc = sums.setdefault(
            group, {"count": 0, "amount": Decimal(0), "weighted": Decimal(0), **{c.value: Decimal(0) for c in Category}}
        )
        acc["count"] += 1
        acc["amount"] += row.amount.amount
        # the platform's one definition of the weighted pipeline (analytics' forecast uses it too)
        acc["weighted"] += weighted_amount(row.amount.amount, row.probability, row.status.value)
        acc[row_category.value] += row.amount.amount
    buckets = []
    for (key, month, currency), acc in sorted(sums.items()):
        money = {
            name: round_to_currency(Decimal(acc[name]), currency)
            for name in ("amount", "weighted", *(c.value for c in Category))
        }
        buckets.append(
            ForecastBucket(
                key=key,
                month=month,
                currency=currency,
                count=int(acc["count"]),
                amount=money["amount"],
                weighted_amount=money["weighted"],
                won_amount=money["won"],
                commit_amount=money["commit"],
                best_case_amount=money["best_case"],
                pipeline_amount=money["pipeline"],
            )
        )
    return buckets


def forecast(rows: Iterable[OpportunityRow], group_by: GroupBy) -> list[ForecastBucket]:
    """Buckets per owner or team, close month and currency, sorted by key then month."""
    key_of: Callable[[OpportunityRow], str] = (
        (lambda r: r.owner_id) if group_by is GroupBy.OWNER else (lambda r: r.team_id)
    )
    return _aggregate(rows, key_of)


def in_subtree(org_path: str, subtree: str) -> bool:
    """True if ``org_path`` is ``subtree`` or below it (whole path segments, not string prefixes)."""
    return orgpaths.is_within(org_path, subtree)


def forecast_subtree(rows: Iterable[OpportunityRow], subtree: str) -> list[ForecastBucket]:
    """One bucket per close month and currency for every row in an org subtree."""
    root = subtree.strip("/")
    return _aggregate((r for r in rows if in_subtree(r.org_path, root)), lambda _row: root)
