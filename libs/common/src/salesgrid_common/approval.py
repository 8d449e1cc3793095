"""Approval up the management hierarchy, shared by every service that approves something
(contracts, expense claims…): which person approves for each required role, and the flow of
steps taken in turn. Plain Python (no gRPC, no database): the required roles come from the
owning service's own rules (amount thresholds…), the chain from the directory replica
(salesgrid_common.approval_chain).

Nobody approves his own submission; a step needing a role may be taken by anyone at or above it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Protocol, TypeVar

from salesgrid_common.errors import FailedPrecondition, PermissionDenied, ValidationFailed

# Seniority of the sales hierarchy (DESIGN §3). Roles not listed here (finance, auditor...) never
# approve: unknown means no (fail closed).
ROLE_RANK: Mapping[str, int] = MappingProxyType(
    {"rep": 1, "supervisor": 2, "manager": 3, "director": 4, "regional_head": 5}
)


def _require_aware(value: object, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed("must be a timezone-aware datetime", field)
    return value


def _require_text(value: object, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("is required", field)
    if len(value.strip()) > max_length:
        raise ValidationFailed(f"must be at most {max_length} characters", field)
    return value.strip()


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


def route_roles(roles: Sequence[str], submitter: str, chain: Sequence[tuple[str, str]]) -> list[ApprovalStep]:
    """The approvers for ``roles`` (ascending): for each, the next person up ``chain`` (the
    submitter's managers as (user_id, role), nearest first) holding that role or a higher one,
    never the submitter. If one person covers consecutive roles he approves once, under the
    higher role. Fails when the chain has nobody eligible for a role."""
    _require_text(submitter, "submitter", 64)
    steps: list[ApprovalStep] = []
    position = 0
    for role in roles:
        if role not in ROLE_RANK:
            raise ValidationFailed(f"must be one of {', '.join(ROLE_RANK)}", "role")
        need = ROLE_RANK[role]
        index = next(
            (
                i
                for i in range(position, len(chain))
                if chain[i][0] != submitter and ROLE_RANK.get(chain[i][1], 0) >= need
            ),
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
    _require_aware(now, "now")
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
    _require_aware(now, "now")
    index = _turn(flow, approver_id)
    steps = list(flow.steps)
    steps[index] = replace(steps[index], status=StepStatus.APPROVED, decided_at=now, comment=comment)
    if index + 1 < len(steps):
        steps[index + 1] = replace(steps[index + 1], activated_at=now)
        return replace(flow, steps=tuple(steps))
    return replace(flow, steps=tuple(steps), status=FlowStatus.APPROVED, finished_at=now)


def reject_step(flow: ApprovalFlow, approver_id: str, comment: str, now: datetime) -> ApprovalFlow:
    """The current approver rejects with a (required) comment; the flow ends rejected."""
    _require_aware(now, "now")
    reason = _require_text(comment, "comment", 2000)
    index = _turn(flow, approver_id)
    steps = [replace(s, status=StepStatus.CANCELLED) if i > index else s for i, s in enumerate(flow.steps)]
    steps[index] = replace(steps[index], status=StepStatus.REJECTED, decided_at=now, comment=reason)
    return replace(flow, steps=tuple(steps), status=FlowStatus.REJECTED, finished_at=now)


def reminder_due(flow: ApprovalFlow, now: datetime, timeout: timedelta) -> ApprovalStep | None:
    """The current step if it has waited ``timeout`` since its turn began or since the last
    reminder (so calling again after ``mark_reminded`` yields nothing until another timeout)."""
    _require_aware(now, "now")
    if timeout <= timedelta(0):
        raise ValidationFailed("must be positive", "timeout")
    step = flow.current_step
    if step is None:
        return None
    since = step.reminded_at or step.activated_at or flow.started_at
    return step if now - since >= timeout else None


def mark_reminded(flow: ApprovalFlow, now: datetime) -> ApprovalFlow:
    """Record that the current approver was reminded at ``now``."""
    _require_aware(now, "now")
    step = flow.current_step
    if step is None:
        raise FailedPrecondition(f"the approval flow is already {flow.status.value}", "status")
    steps = list(flow.steps)
    steps[step.order - 1] = replace(step, reminded_at=now)
    return replace(flow, steps=tuple(steps))


# --- stored steps ---------------------------------------------------------------------------------
# Each service keeps the steps of its flows in its own table; these two functions are the whole
# bridge between such records and the flow above, so every service stores and reminds alike.


class StoredStep(Protocol):
    """A service's record of one step (its ORM row)."""

    role: str
    approver_id: str
    status: str
    activated_at: datetime | None
    decided_at: datetime | None
    comment: str | None
    reminded_at: datetime | None


S = TypeVar("S", bound=StoredStep)


def store_steps(flow: ApprovalFlow, stored: Mapping[int, S]) -> list[tuple[S, str]]:
    """Copy the flow's steps onto their records (by order) and say what happened, in step order:
    (record, "approved" | "rejected") for the step just decided, (record, "activated") for the
    one whose turn has begun -- what each service raises its step events for."""
    happened: list[tuple[S, str]] = []
    for step in flow.steps:
        record = stored[step.order]
        was_pending, was_active = record.status == StepStatus.PENDING.value, record.activated_at is not None
        record.status, record.activated_at = step.status.value, step.activated_at
        record.decided_at, record.comment = step.decided_at, step.comment
        if was_pending and step.status in (StepStatus.APPROVED, StepStatus.REJECTED):
            happened.append((record, step.status.value))
        elif not was_active and step.activated_at is not None:
            happened.append((record, "activated"))
    return happened


def stored_reminder_due(record: StoredStep, now: datetime, timeout: timedelta) -> bool:
    """Whether the current step's approver, waiting on `record` since its turn began (or since
    the last reminder), is due a reminder (see reminder_due)."""
    flow = ApprovalFlow(
        (
            ApprovalStep(
                order=1,
                role=record.role,
                approver_id=record.approver_id,
                activated_at=record.activated_at,
                reminded_at=record.reminded_at,
            ),
        ),
        FlowStatus.PENDING,
        record.activated_at or now,
    )
    return reminder_due(flow, now, timeout) is not None
