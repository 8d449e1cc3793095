"""The weighted pipeline: the one definition pipeline's `GET /v1/forecast` and analytics'
`GET /v1/analytics/forecast` both use.

An open opportunity weighs its amount × its current stage's win probability (a whole percent from
the opportunity's own stage model); a won one weighs its whole amount, a lost one nothing. Weights
are summed exactly and the sum is rounded half up once, to the currency's minor unit, per bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

OPEN, WON, LOST = "open", "won", "lost"
CENT = Decimal("0.01")


def weight_percent(status: str, probability: int) -> int:
    """The percentage of its amount an opportunity weighs."""
    if status == WON:
        return 100
    if status == LOST:
        return 0
    if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
        raise ValueError(f"a stage probability is a whole percent 0..100, got {probability!r}")
    return probability


def weighted_amount(amount: Decimal, probability: int, status: str = OPEN) -> Decimal:
    """amount × weight, exact (not rounded: round the bucket's sum with `round_weighted`)."""
    return amount * weight_percent(status, probability) / 100


def round_weighted(total: Decimal, quantum: Decimal = CENT) -> Decimal:
    return total.quantize(quantum, rounding=ROUND_HALF_UP)


def weighted_pipeline(deals: Iterable[tuple[Decimal, int]], quantum: Decimal = CENT) -> Decimal:
    """Σ amount × probability over open deals, rounded once."""
    return round_weighted(sum((weighted_amount(a, p) for a, p in deals), Decimal(0)), quantum)
