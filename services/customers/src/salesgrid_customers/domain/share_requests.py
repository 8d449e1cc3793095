"""Share requests: a rep who hits a duplicate he cannot see fully asks its owner for sharing; the
owner or his manager accepts (which shares the customer under the ordinary sharing rules,
domain/sharing.py) or declines. One open request per rep and customer; a decision is final."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from .errors import AlreadyExists, FailedPrecondition, ValidationFailed
from .sharing import Share, ShareRole

MAX_MESSAGE = 500


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


@dataclass(frozen=True)
class ShareRequest:
    """One rep's request to share one customer, and once decided, who decided how and why."""

    id: str
    customer_id: str
    requester_id: str
    role: str
    message: str
    status: RequestStatus
    created_at: datetime
    decided_by: str | None = None
    decision_note: str = ""
    decided_at: datetime | None = None

    def decided(self, accept: bool, decider_id: str, note: str, now: datetime) -> ShareRequest:
        status = RequestStatus.ACCEPTED if accept else RequestStatus.DECLINED
        return replace(self, status=status, decided_by=decider_id, decision_note=note, decided_at=now)


class Box(StrEnum):
    INCOMING = "incoming"  # requests the caller may decide (as owner or manager)
    OUTGOING = "outgoing"  # requests the caller made


def check_request(
    *, requester_id: str, owner_id: str | None, shares: Sequence[Share], role: str, message: str, already_pending: bool
) -> ShareRole:
    """The role asked for (collaborator unless said otherwise), or why the request makes no sense."""
    problems = []
    try:
        parsed = ShareRole(role or ShareRole.COLLABORATOR.value)
    except ValueError:
        problems.append(("role", f"must be one of {', '.join(r.value for r in ShareRole)}"))
    if len(message) > MAX_MESSAGE:
        problems.append(("message", f"must be at most {MAX_MESSAGE} characters"))
    if problems:
        raise ValidationFailed.many(problems)
    if owner_id is None:
        raise FailedPrecondition("the customer is in the public pool: claim it instead", "customer_id")
    if owner_id == requester_id:
        raise FailedPrecondition("you own this customer", "customer_id")
    held = next((s.role for s in shares if s.user_id == requester_id), None)
    if held is ShareRole.CO_OWNER or held is parsed:
        raise FailedPrecondition(f"the customer is already shared with you as {held.value}", "customer_id")
    if already_pending:
        raise AlreadyExists("you already asked to share this customer; wait for the decision", "customer_id")
    return parsed


def check_decision(status: str, note: str) -> None:
    if status != RequestStatus.PENDING:
        raise FailedPrecondition(f"the request was already {status}", "id")
    if len(note) > MAX_MESSAGE:
        raise ValidationFailed(f"must be at most {MAX_MESSAGE} characters", "note")


def parse_box(box: str) -> Box:
    try:
        return Box(box or Box.INCOMING.value)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(b.value for b in Box)}", "box") from None


def parse_status(status: str) -> RequestStatus | None:
    if not status:
        return None
    try:
        return RequestStatus(status)
    except ValueError:
        raise ValidationFailed(f"must be one of {', '.join(s.value for s in RequestStatus)}", "status") from None
