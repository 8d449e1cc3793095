"""Sales targets (销售目标): yearly targets decomposed to quarters/months and down the org tree.

A target belongs to a holder: an org unit (rep_id None) or a rep inside a unit. The children of a
target are either the finer periods of the same holder (time decomposition) or, for the same
period, the child units and the unit's own reps (org decomposition). Their sum must equal the parent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from . import orgpath
from .errors import ValidationFailed
from .metrics import Metric, validate_quantity
from .money import CENT, ratio, to_decimal
from .periods import Period


@dataclass(frozen=True)
class Holder:
    """Who a target is for: an org unit, or a rep (`rep_id`) working in unit `org_path`."""

    org_path: str
    rep_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "org_path", orgpath.normalize(self.org_path, "holder.org_path"))
        if self.rep_id is not None and not self.rep_id.strip():
            raise ValidationFailed("rep id must not be blank", "holder.rep_id")

    @property
    def label(self) -> str:
        return f"{self.org_path}#{self.rep_id}" if self.rep_id else self.org_path

    def is_child_of(self, other: Holder) -> bool:
        """Reps directly in a unit and the unit's child units are its children."""
        if other.rep_id is not None:
            return False
        if self.rep_id is not None:
            return self.org_path == other.org_path
        return orgpath.parent(self.org_path) == other.org_path


@dataclass(frozen=True)
class Target:
    metric: Metric
    period: Period
    holder: Holder
    amount: Decimal
    currency: str | None = None

    def __post_init__(self) -> None:
        amount, currency = validate_quantity(self.metric, self.amount, self.currency)
        object.__setattr__(self, "amount", amount)
        object.__setattr__(self, "currency", currency)

    @property
    def quantum(self) -> Decimal:
        """The smallest unit the target can be split into: a cent or one count."""
        return CENT if self.metric.is_money else Decimal(1)


class DecompositionMode(StrEnum):
    REJECT = "reject"  # raise when children do not add up
    REPORT = "report"  # return the difference for a warning


def check_decomposition(parent: Target, children: Sequence[Target], mode: DecompositionMode | str) -> Decimal:
    """Return parent − sum(children); in "reject" mode a non-zero difference raises.

    The children must all be of one kind: finer periods of the parent's holder, or child
    holders for the parent's period; same metric and currency; no duplicates.
    """
    check_mode = _mode(mode)
    _validate_children(parent, children)
    total = sum((c.amount for c in children), Decimal(0))
    difference = parent.amount - total
    if check_mode is DecompositionMode.REJECT and difference != 0:
        direction = "short of" if difference > 0 else "over"
        raise ValidationFailed(
            f"children of {parent.holder.label} {parent.period.label} add up to {total}, "
            f"{abs(difference)} {direction} the target {parent.amount} (difference {difference})",
            "children",
            reason="TARGET_SPLIT_MISMATCH",
            info={"total": str(total), "target": str(parent.amount), "difference": str(difference)},
        )
    return difference


def _mode(mode: DecompositionMode | str) -> DecompositionMode:
    try:
        return DecompositionMode(mode)
    except ValueError:
        raise ValidationFailed(f"mode must be reject or report, got {mode!r}", "mode") from None


def _validate_children(parent: Target, children: Sequence[Target]) -> None:
    violations: list[tuple[str, str]] = []
    by_time: bool | None = None
    child_kind = None
    seen: set[tuple[Period, Holder]] = set()
    for i, child in enumerate(children):
        where = f"children[{i}]"
        if child.metric is not parent.metric:
            violations.append((f"{where}.metric", f"is {child.metric.value}, parent is {parent.metric.value}"))
        if child.currency != parent.currency:
            violations.append((f"{where}.currency", f"is {child.currency}, parent is {parent.currency}"))
        is_time = (
            child.holder == parent.holder
            and child.period.is_finer_than(parent.period)
            and child.period.is_within(parent.period)
        )
        is_org = child.period == parent.period and child.holder.is_child_of(parent.holder)
        if not (is_time or is_org):
            violations.append(
                (
                    where,
                    f"{child.holder.label} {child.period.label} is not a child of "
                    f"{parent.holder.label} {parent.period.label}",
                )
            )
            continue
        if by_time is None:
            by_time, child_kind = is_time, child.period.kind
        elif by_time != is_time or child.period.kind is not child_kind:
            violations.append((where, "mixes period and org-tree decomposition"))
        key = (child.period, child.holder)
        if key in seen:
            violations.append((where, f"duplicate target for {child.holder.label} {child.period.label}"))
        seen.add(key)
    if violations:
        raise ValidationFailed.many(violations)


def split_evenly(amount: Decimal | int | str, parts: int, quantum: Decimal = CENT) -> tuple[Decimal, ...]:
    """Split `amount` into `parts` shares differing by at most one quantum, summing exactly.

    The remainder quanta go to the first shares (e.g. 100.00 / 3 → 33.34, 33.33, 33.33).
    """
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValidationFailed("must be a whole number of at least 1", "parts")
    value = to_decimal(amount, "amount")
    if value < 0:
        raise ValidationFailed("must not be negative", "amount")
    units = value / quantum
    if units != units.to_integral_value():
        raise ValidationFailed(f"{value} is not a whole multiple of {quantum}", "amount")
    base, remainder = divmod(int(units), parts)
    return tuple((base + (1 if i < remainder else 0)) * quantum for i in range(parts))


def decompose_over_periods(target: Target) -> tuple[Target, ...]:
    """Even split of a year into quarters or a quarter into months, same holder."""
    periods = target.period.children()
    if not periods:
        raise ValidationFailed("a month target cannot be split into finer periods", "period")
    shares = split_evenly(target.amount, len(periods), target.quantum)
    return tuple(Target(target.metric, p, target.holder, share, target.currency) for p, share in zip(periods, shares))


def decompose_over_holders(target: Target, holders: Sequence[Holder]) -> tuple[Target, ...]:
    """Even split of a unit's target over its child units and reps, same period."""
    if not holders:
        raise ValidationFailed("at least one child holder is needed", "holders")
    for i, holder in enumerate(holders):
        if not holder.is_child_of(target.holder):
            raise ValidationFailed(f"{holder.label} is not a child of {target.holder.label}", f"holders[{i}]")
    if len(set(holders)) != len(holders):
        raise ValidationFailed("holders must not repeat", "holders")
    shares = split_evenly(target.amount, len(holders), target.quantum)
    return tuple(Target(target.metric, target.period, h, share, target.currency) for h, share in zip(holders, shares))


def attainment(actual: Decimal | int, target: Decimal | int) -> Decimal | None:
    """actual / target to four decimals (1.0250 = 102.5 %); None when the target is zero."""
    target_value = to_decimal(target, "target")
    if target_value < 0:
        raise ValidationFailed("must not be negative", "target")
    return ratio(to_decimal(actual, "actual"), target_value)
