"""Approval routing and flow: amount thresholds per org unit decide which roles must approve,
each in turn up the submitter's management chain; nobody approves his own submission.

Used alike for a new contract, an amendment and a termination request (all on the contract total).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from ._validation import require_aware, require_text
from .errors import FailedPrecondition, PermissionDenied, ValidationFailed
from .money import Money

# Seniority of the sales hierarchy (DESIGN §3); a step needing a role may be taken by anyone at or
# above it. Roles not listed here (finance, auditor...) never approve: unknown means no (fail closed).
ROLE_RANK: Mapping[str, int] = MappingProxyType(
    {"rep": 1, "supervisor": 2, "manager": 3, "director": 4, "regional_head": 5}
)


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


class StepStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # left undecided because an earlier step rejected


class FlowStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ApprovalStep:
    order: int
    role: str
    approver_id: str
    status: StepStatus = StepStatus.PENDING
    activated_at: datetime | None = None  # when it became this approver's turn
    decided_at: datetime | None = None
    comment: str | None = None
    reminded_at: datetime | None = None


def route_approval(
    amount: Money, rules: ApprovalRules, submitter: str, chain: Sequence[tuple[str, str]]
) -> list[ApprovalStep]:
    """The approvers for ``amount``: for each required role, the next person up ``chain`` (the
    submitter's managers as (user_id, role), nearest first) holding that role or a higher one,
    never the submitter. If one person covers consecutive roles he approves once, under the
    higher role. Fails when the chain has nobody eligible for a role."""
    require_text(submitter, "submitter", max_length=64)
    steps: list[ApprovalStep] = []
    position = 0
    for role in required_roles(amount, rules):
        need = ROLE_RANK[role]
        index = next(
            (i for i in range(position, len(chain)) if chain[i][0] != submitter and ROLE_RANK.get(chain[i][1], 0) >= need),
            None,
        )
        if index is None:
            raise FailedPrecondition(
                f"nobody other than the submitter can approve as {role} in the management chain", "chain"
            )
        approver = chain[index][0]
        if steps and steps[-1].approver_id == approver:
            steps[-1] = replace(steps[-1], role=role)
        else:
            steps.append(ApprovalStep(order=len(steps) + 1, role=role, approver_id=approver))
        position = index
    return steps


@dataclass(frozen=True)
class ApprovalFlow:
    steps: tuple[ApprovalStep, ...]
    status: FlowStatus
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def current_step(self) -> ApprovalStep | None:
        """The step whose turn it is (None once the flow has finished)."""
        if self.status is not FlowStatus.PENDING:
            return None
        return next((s for s in self.steps if s.status is StepStatus.PENDING), None)


def start_approval(steps: Sequence[ApprovalStep], now: datetime) -> ApprovalFlow:
    """A pending flow whose first step's turn starts at ``now``."""
    require_aware(now, "now")
    if not steps:
        raise ValidationFailed("an approval flow needs at least one step", "steps")
    first, *rest = steps
    return ApprovalFlow((replace(first, activated_at=now), *rest), FlowStatus.PENDING, now)


def _turn(flow: ApprovalFlow, approver_id: str) -> int:
    """Index of the current step, checking that it is ``approver_id``'s turn."""
    current = flow.current_step
    if current is None:
        raise FailedPrecondition(f"the approval flow is already {flow.status.value}", "status")
    if current.approver_id == approver_id:
        return current.order - 1
    if any(s.approver_id == approver_id and s.status is StepStatus.PENDING for s in flow.steps):
        raise FailedPrecondition(
            f"out of turn: step {current.order} ({current.role}, {current.approver_id}) must decide first",
            "approver_id",
        )
    raise PermissionDenied("is not an approver of this flow", "approver_id")


def approve_step(flow: ApprovalFlow, approver_id: str, now: datetime, comment: str | None = None) -> ApprovalFlow:
    """The current approver approves; the next step's turn starts, or the flow is approved."""
    require_aware(now, "now")
    index = _turn(flow, approver_id)
    steps = list(flow.steps)
    steps[index] = replace(steps[index], status=StepStatus.APPROVED, decided_at=now, comment=comment)
    if index + 1 < len(steps):
        steps[index + 1] = replace(steps[index + 1], activated_at=now)
        return replace(flow, steps=tuple(steps))
    return replace(flow, steps=tuple(steps), status=FlowStatus.APPROVED, finished_at=now)


def reject_step(flow: ApprovalFlow, approver_id: str, comment: str, now: datetime) -> ApprovalFlow:
    """The current approver rejects with a (required) comment; the flow ends rejected."""
    require_aware(now, "now")
    reason = require_text(comment, "comment", max_length=2000)
    index = _turn(flow, approver_id)
    steps = [
        replace(s, status=StepStatus.CANCELLED) if i > index else s for i, s in enumerate(flow.steps)
    ]
    steps[index] = replace(steps[index], status=StepStatus.REJECTED, decided_at=now, comment=reason)
    return replace(flow, steps=tuple(steps), status=FlowStatus.REJECTED, finished_at=now)


def reminder_due(flow: ApprovalFlow, now: datetime, timeout: timedelta) -> ApprovalStep | None:
    """The current step if it has waited ``timeout`` since its turn began or since the last
    reminder (so calling again after ``mark_reminded`` yields nothing until another timeout)."""
    require_aware(now, "now")
    if timeout <= timedelta(0):
        raise ValidationFailed("must be positive", "timeout")
    step = flow.current_step
    if step is None:
        return None
    since = step.reminded_at or step.activated_at or flow.started_at
    return step if now - since >= timeout else None


def mark_reminded(flow: ApprovalFlow, now: datetime) -> ApprovalFlow:
    """Record that the current approver was reminded at ``now``."""
    require_aware(now, "now")
    step = flow.current_step
    if step is None:
        raise FailedPrecondition(f"the approval flow is already {flow.status.value}", "status")
    steps = list(flow.steps)
    steps[step.order - 1] = replace(step, reminded_at=now)
    return replace(flow, steps=tuple(steps))
