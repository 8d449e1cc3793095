"""Where a rep stands under the public-pool policy of his unit, before he clicks "claim": how many
more customers he may hold, how many more he may claim today, and which pool customers he released
himself and may not claim back yet (the same rules as pool.check_claim, read ahead of time)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .pool import PoolPolicy, reclaimable_from


@dataclass(frozen=True)
class Released:
    """A pool customer the rep himself released."""

    customer_id: str
    legal_name: str
    released_at: datetime


@dataclass(frozen=True)
class CoolDown:
    customer_id: str
    legal_name: str
    claimable_from: datetime


@dataclass(frozen=True)
class PoolStanding:
    policy: PoolPolicy
    source_unit_id: str  # the unit whose policy is in force ("" for the platform's default)
    held_count: int
    claims_today: int
    customers_left: int | None  # None: no cap
    claims_left_today: int | None
    cool_downs: tuple[CoolDown, ...]

    @property
    def can_claim(self) -> bool:
        """Whether a claim of some pool customer (one not cooling down for him) would pass the caps."""
        return self.customers_left != 0 and self.claims_left_today != 0


def _left(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)


def standing(
    policy: PoolPolicy,
    source_unit_id: str,
    *,
    held_count: int,
    claims_today: int,
    released: Iterable[Released],
    now: datetime,
    zone_name: str,
) -> PoolStanding:
    """The caps left and the cool-downs still running at `now` (soonest first)."""
    cooling = sorted(
        (
            CoolDown(r.customer_id, r.legal_name, until)
            for r in released
            if now < (until := reclaimable_from(r.released_at, policy, zone_name))
        ),
        key=lambda c: (c.claimable_from, c.customer_id),
    )
    return PoolStanding(
        policy,
        source_unit_id,
        held_count,
        claims_today,
        _left(policy.max_customers_per_rep, held_count),
        _left(policy.max_claims_per_day, claims_today),
        tuple(cooling),
    )
