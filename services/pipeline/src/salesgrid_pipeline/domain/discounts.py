"""Special-discount approval (特批折扣): a quote whose discount passes its unit's threshold cannot
be accepted until it is approved up the hierarchy.

A quote's discount rate is the deepest discount of any of its lines (discount ÷ gross, in per
cent): one heavily discounted line is a special discount even inside a large quote. Each org unit
may set its own policy (inherited down the tree; the nearest unit with one wins):
``threshold_percent`` — a rate above it needs the manager's approval; ``director_above_percent``
— a rate above it also needs the director's. Rates at or below the threshold need no approval.
The flow itself (steps in turn, never the submitter, nobody approves his own quote) is the
shared salesgrid_common.approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum

from .errors import FailedPrecondition, ValidationFailed

DEFAULT_THRESHOLD = Decimal(10)
DEFAULT_DIRECTOR_ABOVE = Decimal(20)
_HUNDRED = Decimal(100)


class DiscountApproval(str, Enum):
    NOT_REQUIRED = ""  # within the unit's threshold
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class DiscountPolicy:
    org_unit_id: str
    threshold_percent: Decimal
    director_above_percent: Decimal


def _percent(text: object, field: str) -> Decimal:
    if isinstance(text, Decimal):
        value = text
    else:
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            raise ValidationFailed("must be a decimal percentage", field) from None
    if not value.is_finite() or value < 0 or value > _HUNDRED:
        raise ValidationFailed("must be a percentage between 0 and 100", field)
    return value


def new_policy(org_unit_id: str, threshold_percent: object, director_above_percent: object) -> DiscountPolicy:
    """A unit's policy; every violation is reported, each naming its field."""
    problems: list[tuple[str, str]] = []
    unit = org_unit_id.strip() if isinstance(org_unit_id, str) else ""
    if not unit:
        problems.append(("org_unit_id", "is required"))
    values: dict[str, Decimal] = {}
    for field, text in (("threshold_percent", threshold_percent), ("director_above_percent", director_above_percent)):
        try:
            values[field] = _percent(text, field)
        except ValidationFailed as exc:
            problems.append((field, exc.message))
    if len(values) == 2 and values["director_above_percent"] < values["threshold_percent"]:
        problems.append(("director_above_percent", "must not be below threshold_percent"))
    if problems:
        raise ValidationFailed.many(problems)
    return DiscountPolicy(unit, values["threshold_percent"], values["director_above_percent"])


def default_policy(org_unit_id: str) -> DiscountPolicy:
    return DiscountPolicy(org_unit_id, DEFAULT_THRESHOLD, DEFAULT_DIRECTOR_ABOVE)


def policy_for_unit(unit_path: Sequence[str], policies: Mapping[str, DiscountPolicy]) -> DiscountPolicy:
    """The policy of the nearest unit on ``unit_path`` (own unit first, then ancestors), else the default."""
    for unit in unit_path:
        if unit in policies:
            return policies[unit]
    return default_policy(unit_path[0] if unit_path else "")


def discount_rate(lines: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """The deepest discount of the (gross, discount) lines, in per cent (0 with no discount)."""
    rates = [discount * _HUNDRED / gross for gross, discount in lines if gross > 0 and discount > 0]
    return max(rates, default=Decimal(0)).quantize(Decimal("0.01"))


def required_roles(rate: Decimal, policy: DiscountPolicy) -> list[str]:
    """The roles that must approve a quote discounted by ``rate`` per cent (empty: none)."""
    if rate <= policy.threshold_percent:
        return []
    return ["manager", "director"] if rate > policy.director_above_percent else ["manager"]


def check_acceptable(status: DiscountApproval, rate: Decimal) -> None:
    """A special discount must be approved before its quote is accepted."""
    if status is DiscountApproval.PENDING:
        raise FailedPrecondition(
            f"the special discount ({rate}%) is awaiting approval; the quote cannot be accepted yet",
            "discount_approval",
        )
    if status is DiscountApproval.REJECTED:
        raise FailedPrecondition(
            f"the special discount ({rate}%) was rejected; issue a new version of the quote", "discount_approval"
        )
