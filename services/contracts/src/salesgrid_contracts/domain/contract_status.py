"""A contract's status machine: its statuses, the actions between them, and which statuses bind
both parties."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from .errors import FailedPrecondition


class ContractStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SIGNED = "signed"
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


class ContractAction(StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SIGN = "sign"
    ACTIVATE = "activate"
    COMPLETE = "complete"
    TERMINATE = "terminate"


S, A = ContractStatus, ContractAction
TRANSITIONS: Mapping[tuple[ContractStatus, ContractAction], ContractStatus] = MappingProxyType(
    {
        (S.DRAFT, A.SUBMIT): S.PENDING_APPROVAL,
        (S.PENDING_APPROVAL, A.APPROVE): S.APPROVED,
        (S.PENDING_APPROVAL, A.REJECT): S.DRAFT,
        (S.APPROVED, A.SIGN): S.SIGNED,
        (S.SIGNED, A.ACTIVATE): S.ACTIVE,
        (S.ACTIVE, A.COMPLETE): S.COMPLETED,
        # Reached only through an approved termination request (see approve_termination).
        (S.SIGNED, A.TERMINATE): S.TERMINATED,
        (S.ACTIVE, A.TERMINATE): S.TERMINATED,
    }
)
del S, A

# Statuses in which the contract binds both parties: receipts, invoices, amendments, termination.
IN_FORCE: frozenset[ContractStatus] = frozenset({ContractStatus.SIGNED, ContractStatus.ACTIVE})


def next_status(status: ContractStatus, action: ContractAction) -> ContractStatus:
    """The status ``action`` leads to from ``status``, or FailedPrecondition naming both."""
    target = TRANSITIONS.get((status, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is status) or ["none"]
        raise FailedPrecondition(
            f"cannot {action.value} a contract that is {status.value} (allowed: {', '.join(allowed)})", "status"
        )
    return target
