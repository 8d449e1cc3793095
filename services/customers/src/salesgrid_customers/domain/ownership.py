"""Ownership arbitration (客户归属判定) when several reps follow one company under different names.

Rules, applied in order to the reps still in contention:
1. the rep whose record carries the exact registered legal name (工商注册全称) wins;
2. else the rep who logged the first follow-up wins;
3. else the rep who created the first opportunity wins;
otherwise the case is undecided and goes to a manager.
A rule that leaves several reps tied (two exact names, equal timestamps) narrows the field to
them and the next rule decides among those. "Exact" means equal after trimming and NFKC only, so
full-width vs half-width brackets do not matter but any other difference does.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .errors import ValidationFailed


class ArbitrationRule(StrEnum):
    REGISTERED_NAME = "registered_name"
    FIRST_FOLLOW_UP = "first_follow_up"
    FIRST_OPPORTUNITY = "first_opportunity"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class OwnershipClaim:
    """One rep's record of the company, with the facts the rules compare."""

    rep_id: str
    customer_id: str
    recorded_name: str
    first_follow_up_at: datetime | None = None
    first_opportunity_at: datetime | None = None


@dataclass(frozen=True)
class ArbitrationStep:
    """What one rule looked at: per rep the compared value (name match or timestamp)."""

    rule: ArbitrationRule
    compared: tuple[tuple[str, str | None], ...]  # (rep_id, "true"/"false" or ISO timestamp / None)
    remaining: tuple[str, ...]  # rep ids still in contention after this rule


@dataclass(frozen=True)
class OwnershipDecision:
    """The value to record: the winner (if any), the deciding rule and the evidence."""

    winner_rep_id: str | None
    winner_customer_id: str | None
    rule: ArbitrationRule
    reason: str
    steps: tuple[ArbitrationStep, ...]
    decided_at: datetime


@dataclass(frozen=True)
class Arbitration:
    """A recorded arbitration: the competing records and reps, who asked, and the decision."""

    id: str
    customer_ids: tuple[str, ...]
    rep_ids: tuple[str, ...]
    registered_name: str
    decision: OwnershipDecision
    decided_by: str


def _exact(name: str) -> str:
    return unicodedata.normalize("NFKC", name).strip()


def _earliest(
    contenders: list[OwnershipClaim], when: Callable[[OwnershipClaim], datetime | None]
) -> list[OwnershipClaim]:
    stamps = [ts for c in contenders if (ts := when(c)) is not None]
    if not stamps:
        return contenders  # nobody has the fact: the rule cannot separate anyone
    first = min(stamps)
    return [c for c in contenders if when(c) == first]


def arbitrate_ownership(claims: Sequence[OwnershipClaim], registered_name: str, now: datetime) -> OwnershipDecision:
    if len(claims) < 2:
        raise ValidationFailed("arbitration needs at least two competing records", "claims")
    reps = [c.rep_id for c in claims]
    if len(set(reps)) != len(reps):
        raise ValidationFailed("each rep may appear only once; pass his best record", "claims")
    if not registered_name or not registered_name.strip():
        raise ValidationFailed("the registered legal name is required", "registered_name")
    for c in claims:
        for ts in (c.first_follow_up_at, c.first_opportunity_at):
            if ts is not None and ts.utcoffset() is None:
                raise ValidationFailed("timestamps must be timezone-aware", "claims")

    steps: list[ArbitrationStep] = []
    contenders = list(claims)

    exact = _exact(registered_name)
    matching = [c for c in contenders if _exact(c.recorded_name) == exact]
    steps.append(
        ArbitrationStep(
            ArbitrationRule.REGISTERED_NAME,
            tuple((c.rep_id, str(_exact(c.recorded_name) == exact).lower()) for c in contenders),
            tuple(c.rep_id for c in (matching or contenders)),
        )
    )
    if matching:
        contenders = matching
    if len(contenders) == 1:
        return _decided(
            contenders[0],
            ArbitrationRule.REGISTERED_NAME,
            f"only {contenders[0].rep_id} recorded the registered name '{exact}'",
            steps,
            now,
        )

    by_time: tuple[tuple[ArbitrationRule, Callable[[OwnershipClaim], datetime | None], str], ...] = (
        (ArbitrationRule.FIRST_FOLLOW_UP, lambda c: c.first_follow_up_at, "first follow-up"),
        (ArbitrationRule.FIRST_OPPORTUNITY, lambda c: c.first_opportunity_at, "first opportunity"),
    )
    for rule, when, label in by_time:
        narrowed = _earliest(contenders, when)
        steps.append(
            ArbitrationStep(
                rule,
                tuple((c.rep_id, _iso(when(c))) for c in contenders),
                tuple(c.rep_id for c in narrowed),
            )
        )
        contenders = narrowed
        if len(contenders) == 1:
            winner = contenders[0]
            return _decided(winner, rule, f"{winner.rep_id} logged the {label} at {_iso(when(winner))}", steps, now)

    return OwnershipDecision(
        None,
        None,
        ArbitrationRule.UNDECIDED,
        f"no rule separates {', '.join(c.rep_id for c in contenders)}; a manager must decide",
        tuple(steps),
        now,
    )


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def _decided(
    winner: OwnershipClaim,
    rule: ArbitrationRule,
    reason: str,
    steps: list[ArbitrationStep],
    now: datetime,
) -> OwnershipDecision:
    return OwnershipDecision(winner.rep_id, winner.customer_id, rule, reason, tuple(steps), now)
