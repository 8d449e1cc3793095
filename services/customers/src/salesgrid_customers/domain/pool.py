"""Public pool (公海): claim, release, automatic return and its advance warning.

All functions are pure: the caller passes the facts and `now`; the scheduler can run
due_for_return / due_for_warning repeatedly and apply results idempotently using
ReturnDecision.idempotency_key / ReturnWarning.idempotency_key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from salesgrid_common import zones

from .access import Actor, require_owner_or_manager
from .errors import FailedPrecondition, ValidationFailed


class ReturnRule(StrEnum):
    NO_FOLLOW_UP = "no_follow_up"
    NO_OPPORTUNITY = "no_opportunity"
    NO_DEAL = "no_deal"


@dataclass(frozen=True)
class PoolPolicy:
    """Per org unit; None switches a cap or a return rule off."""

    max_customers_per_rep: int | None = 200
    max_claims_per_day: int | None = 10
    reclaim_cooldown_days: int = 30
    return_after_days_without_follow_up: int | None = 30
    return_after_days_without_opportunity: int | None = 90
    return_after_days_without_deal: int | None = 180
    warning_days_before: int = 3

    def __post_init__(self) -> None:
        violations: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                violations.append((f.name, "must be an integer"))
            elif f.name in ("reclaim_cooldown_days", "warning_days_before"):
                if value < 0:
                    violations.append((f.name, "must not be negative"))
            elif value < 1:
                violations.append((f.name, "must be at least 1 (use None to switch the rule off)"))
        shortest = min(self.return_periods().values(), default=None) if not violations else None
        if shortest is not None and self.warning_days_before >= shortest:
            violations.append(
                ("warning_days_before", f"must be shorter than the shortest return period ({shortest} days)")
            )
        if violations:
            raise ValidationFailed.many(violations)

    def return_periods(self) -> dict[ReturnRule, int]:
        """Enabled return rules and their periods in days."""
        periods = {
            ReturnRule.NO_FOLLOW_UP: self.return_after_days_without_follow_up,
            ReturnRule.NO_OPPORTUNITY: self.return_after_days_without_opportunity,
            ReturnRule.NO_DEAL: self.return_after_days_without_deal,
        }
        return {rule: days for rule, days in periods.items() if days is not None}


def resolve_policy(unit_path: Sequence[str], policies: Mapping[str, PoolPolicy], default: PoolPolicy) -> PoolPolicy:
    """The policy of the nearest unit on the path (own unit first, then its ancestors)."""
    for unit_id in reversed(unit_path):
        if unit_id in policies:
            return policies[unit_id]
    return default


def zone(name: str) -> ZoneInfo:
    return zones.zone(name)


def _require_aware(ts: datetime, field_name: str) -> None:
    if ts.utcoffset() is None:
        raise ValidationFailed("must be timezone-aware", field_name)


def local_day_window(now: datetime, time_zone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the rep's local calendar day containing `now` (DST-safe).

    The repository counts the rep's claims with claimed_at in this window.
    """
    _require_aware(now, "now")
    return zones.local_day_window(now, zone(time_zone).key)


# ---------------------------------------------------------------- claim / release


@dataclass(frozen=True)
class PoolEntry:
    """Pool-relevant state of a customer."""

    customer_id: str
    owner_id: str | None
    previous_owner_id: str | None = None
    released_at: datetime | None = None


@dataclass(frozen=True)
class Claim:
    customer_id: str
    new_owner_id: str
    claimed_at: datetime


@dataclass(frozen=True)
class Release:
    customer_id: str
    previous_owner_id: str
    released_at: datetime
    released_by: str
    reason: str


def check_claim(
    entry: PoolEntry,
    claimant_id: str,
    *,
    held_count: int,
    claims_today: int,
    policy: PoolPolicy,
    now: datetime,
    zone_name: str = zones.DEFAULT_ZONE,
) -> Claim:
    """Raise FailedPrecondition naming the rule (field) that refuses the claim, else the Claim.

    held_count: customers the claimant owns now; claims_today: his claims in local_day_window.
    zone_name: the claimant's branch zone; the cool-down counts days on its calendar.
    """
    _require_aware(now, "now")
    if entry.owner_id is not None:
        raise FailedPrecondition("customer is not in the public pool", "owner_id")
    if policy.max_customers_per_rep is not None and held_count >= policy.max_customers_per_rep:
        raise FailedPrecondition(
            f"rep already holds {held_count} customers (cap {policy.max_customers_per_rep})",
            "max_customers_per_rep",
            reason="POOL_CUSTOMER_CAP",
            info={"held": str(held_count), "cap": str(policy.max_customers_per_rep)},
        )
    if policy.max_claims_per_day is not None and claims_today >= policy.max_claims_per_day:
        raise FailedPrecondition(
            f"rep already claimed {claims_today} customers today (cap {policy.max_claims_per_day})",
            "max_claims_per_day",
            reason="POOL_DAILY_CLAIMS",
            info={"claims_today": str(claims_today), "cap": str(policy.max_claims_per_day)},
        )
    if entry.previous_owner_id == claimant_id and entry.released_at is not None:
        until = reclaimable_from(entry.released_at, policy, zone_name)
        if now < until:
            raise FailedPrecondition(
                f"previous owner may re-claim only after {until.isoformat()}",
                "reclaim_cooldown_days",
                reason="POOL_RECLAIM_COOLDOWN",
                info={"claimable_from": until.isoformat()},
            )
    return Claim(entry.customer_id, claimant_id, now)


def reclaimable_from(released_at: datetime, policy: PoolPolicy, zone_name: str = zones.DEFAULT_ZONE) -> datetime:
    """When the rep who released a customer may claim it back: the cool-down counts days on his
    branch calendar (same wall time, DST-safe)."""
    _require_aware(released_at, "released_at")
    return zones.add_local_days(released_at, policy.reclaim_cooldown_days, zone_name)


def check_release(
    entry: PoolEntry, owner_unit_path: Sequence[str], actor: Actor, now: datetime, reason: str = ""
) -> Release:
    """The owner or his manager puts the customer back into the pool."""
    _require_aware(now, "now")
    if entry.owner_id is None:
        raise FailedPrecondition("customer is already in the public pool", "owner_id")
    require_owner_or_manager(actor, entry.owner_id, owner_unit_path, "release this customer")
    return Release(entry.customer_id, entry.owner_id, now, actor.user_id, reason.strip() or "released")


# ---------------------------------------------------------------- automatic return


@dataclass(frozen=True)
class ActivityFacts:
    """What the scheduler knows about an owned customer. assigned_at: when the owner got it."""

    customer_id: str
    owner_id: str | None
    assigned_at: datetime
    last_follow_up_at: datetime | None = None
    last_opportunity_at: datetime | None = None
    last_deal_at: datetime | None = None


@dataclass(frozen=True)
class ReturnDecision:
    customer_id: str
    owner_id: str
    rule: ReturnRule
    last_activity_at: datetime  # start of the silent period (activity or assignment)
    due_at: datetime

    @property
    def idempotency_key(self) -> str:
        return f"pool-return:{self.customer_id}:{self.owner_id}:{self.due_at.isoformat()}"


@dataclass(frozen=True)
class ReturnWarning:
    customer_id: str
    owner_id: str
    rule: ReturnRule
    due_at: datetime
    warn_from: datetime

    @property
    def idempotency_key(self) -> str:
        return f"pool-warning:{self.customer_id}:{self.owner_id}:{self.rule}:{self.due_at.isoformat()}"


def _deadlines(facts: ActivityFacts, policy: PoolPolicy, zone_name: str) -> list[tuple[datetime, ReturnRule, datetime]]:
    """(due_at, rule, period start) per enabled rule, earliest first; ties keep rule order. A
    period of N days is N days on the owner's branch calendar (same wall time, DST-safe)."""
    last = {
        ReturnRule.NO_FOLLOW_UP: facts.last_follow_up_at,
        ReturnRule.NO_OPPORTUNITY: facts.last_opportunity_at,
        ReturnRule.NO_DEAL: facts.last_deal_at,
    }
    result: list[tuple[datetime, ReturnRule, datetime]] = []
    order = list(ReturnRule)
    for rule, days in policy.return_periods().items():
        event = last[rule]
        # Activity before the current owner got the customer does not count for him.
        start = max(facts.assigned_at, event) if event is not None else facts.assigned_at
        result.append((zones.add_local_days(start, days, zone_name), rule, start))
    result.sort(key=lambda item: (item[0], order.index(item[1])))
    return result


def _check_facts(facts: ActivityFacts, now: datetime) -> None:
    _require_aware(now, "now")
    _require_aware(facts.assigned_at, "assigned_at")
    for name in ("last_follow_up_at", "last_opportunity_at", "last_deal_at"):
        value = getattr(facts, name)
        if value is not None:
            _require_aware(value, name)


def due_for_return(
    facts: ActivityFacts, policy: PoolPolicy, now: datetime, zone_name: str = zones.DEFAULT_ZONE
) -> ReturnDecision | None:
    """The earliest expired rule, or None (also None for customers already in the pool)."""
    _check_facts(facts, now)
    if facts.owner_id is None:
        return None
    deadlines = _deadlines(facts, policy, zone_name)
    if not deadlines or deadlines[0][0] > now:
        return None
    due_at, rule, start = deadlines[0]
    return ReturnDecision(facts.customer_id, facts.owner_id, rule, start, due_at)


def due_for_warning(
    facts: ActivityFacts, policy: PoolPolicy, now: datetime, zone_name: str = zones.DEFAULT_ZONE
) -> ReturnWarning | None:
    """Warn the owner within `warning_days_before` of the earliest return; None once due or off."""
    _check_facts(facts, now)
    if facts.owner_id is None or policy.warning_days_before == 0:
        return None
    deadlines = _deadlines(facts, policy, zone_name)
    if not deadlines:
        return None
    due_at, rule, _ = deadlines[0]
    warn_from = zones.add_local_days(due_at, -policy.warning_days_before, zone_name)
    if warn_from <= now < due_at:
        return ReturnWarning(facts.customer_id, facts.owner_id, rule, due_at, warn_from)
    return None
