"""Approval routing and flow: amount thresholds per org unit decide which roles must approve,
each in turn up the submitter's management chain; nobody approves his own submission.

Used alike for a new contract, an amendment and a termination request (all on the contract total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

# The flow itself (steps in turn, routing up the chain, reminders) is shared with every service
# that approves: salesgrid_common.approval. Re-exported so the contracts domain reads as one.
from salesgrid_common.approval import (
    ROLE_RANK,
    ApprovalFlow,
    ApprovalStep,
    FlowStatus,
    StepStatus,
    approve_step,
    mark_reminded,
    reject_step,
    reminder_due,
    route_roles,
    start_approval,
)

from .errors import ValidationFailed
from .money import Money

__all__ = [
    "ROLE_RANK",
    "ApprovalFlow",
    "ApprovalRule",
    "ApprovalRules",
    "ApprovalStep",
    "FlowStatus",
    "StepStatus",
    "approve_step",
    "default_approval_rules",
    "mark_reminded",
    "reject_step",
    "reminder_due",
    "required_roles",
    "route_approval",
    "rules_for_unit",
    "start_approval",
]


@dataclass(frozen=True)
class ApprovalRule:
    """Amounts up to and including ``up_to`` stop at ``role``; ``None`` means no upper limit."""

    up_to: Money | None
    role: str


@dataclass(frozen=True)
class ApprovalRules:
    """The thresholds of one org unit, ascending; the last one is open-ended."""

    org_unit_id: str
    rules: tuple[ApprovalRule, ...]

    def __post_init__(self) -> None:
        if not self.rules:
            raise ValidationFailed("at least one rule is required", "rules")
        violations: list[tuple[str, str]] = []
        for index, rule in enumerate(self.rules):
            if rule.role not in ROLE_RANK:
                violations.append((f"rules[{index}].role", f"must be one of {', '.join(ROLE_RANK)}"))
            last = index == len(self.rules) - 1
            if last != (rule.up_to is None):
                violations.append((f"rules[{index}].up_to", "only the last rule is open-ended, and it must be"))
            if index and rule.up_to is not None and (previous := self.rules[index - 1].up_to) is not None:
                if rule.up_to.currency != previous.currency:
                    violations.append((f"rules[{index}].up_to", "all thresholds must share one currency"))
                elif rule.up_to <= previous:
                    violations.append((f"rules[{index}].up_to", "thresholds must increase"))
            if index and ROLE_RANK.get(rule.role, 0) <= ROLE_RANK.get(self.rules[index - 1].role, 0):
                violations.append((f"rules[{index}].role", "each step must go further up the hierarchy"))
        if violations:
            raise ValidationFailed.many(violations)

    @property
    def currency(self) -> str | None:
        return self.rules[0].up_to.currency if self.rules[0].up_to is not None else None


def default_approval_rules(org_unit_id: str, currency: str = "CNY") -> ApprovalRules:
    """Up to 100,000 the manager; up to 1,000,000 also the director; above that also the regional head."""
    return ApprovalRules(
        org_unit_id,
        (
            ApprovalRule(Money(Decimal(100_000), currency), "manager"),
            ApprovalRule(Money(Decimal(1_000_000), currency), "director"),
            ApprovalRule(None, "regional_head"),
        ),
    )


def rules_for_unit(
    unit_path: Sequence[str], rules_by_unit: Mapping[str, ApprovalRules], currency: str = "CNY"
) -> ApprovalRules:
    """The rules of the nearest unit on ``unit_path`` (the submitter's unit first, then its
    ancestors up to the root) that has its own; otherwise the defaults."""
    for unit_id in unit_path:
        if unit_id in rules_by_unit:
            return rules_by_unit[unit_id]
    return default_approval_rules(unit_path[0] if unit_path else "", currency)


def required_roles(amount: Money, rules: ApprovalRules) -> list[str]:
    """Every role from the first rule up to the first whose threshold covers ``amount``.

    ``amount`` must be in the rules' currency (convert before calling); a mismatch fails.
    """
    if amount.is_negative:
        raise ValidationFailed("must not be negative", "amount")
    if rules.currency is not None and amount.currency != rules.currency:
        raise ValidationFailed(
            f"is in {amount.currency} but the approval thresholds of {rules.org_unit_id} are in {rules.currency}",
            "amount",
        )
    roles: list[str] = []
    for rule in rules.rules:
        roles.append(rule.role)
        if rule.up_to is None or amount <= rule.up_to:
            break
    return roles


def route_approval(
    amount: Money, rules: ApprovalRules, submitter: str, chain: Sequence[tuple[str, str]]
) -> list[ApprovalStep]:
    """The approvers for ``amount``: the required roles routed up ``chain`` (shared rule: never
    the submitter; one person covering consecutive roles approves once, under the higher role)."""
    return route_roles(required_roles(amount, rules), submitter, chain)
