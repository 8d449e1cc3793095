"""Sharing a customer with co-owners (full access) and collaborators (read-only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from .access import Actor, require_owner_or_manager
from .errors import FailedPrecondition, NotFound, ValidationFailed

MAX_SHARES = 50


class ShareRole(StrEnum):
    CO_OWNER = "co_owner"
    COLLABORATOR = "collaborator"


@dataclass(frozen=True)
class Share:
    user_id: str
    role: ShareRole


def _parse_role(role: str | ShareRole) -> ShareRole:
    try:
        return ShareRole(role)
    except ValueError:
        raise ValidationFailed(f"role must be one of {', '.join(r.value for r in ShareRole)}", "role") from None


def add_share(
    shares: Sequence[Share],
    *,
    owner_id: str | None,
    owner_unit_path: Sequence[str],
    actor: Actor,
    user_id: str,
    role: str | ShareRole,
) -> tuple[Share, ...]:
    """Return the new share list. Re-sharing with another role changes the role (idempotent)."""
    parsed = _parse_role(role)
    if not user_id:
        raise ValidationFailed("user to share with is required", "user_id")
    if owner_id is None:
        raise FailedPrecondition("a customer in the public pool cannot be shared", "owner_id")
    require_owner_or_manager(actor, owner_id, owner_unit_path, "share this customer")
    if user_id == owner_id:
        raise ValidationFailed("the owner cannot be shared with himself", "user_id")
    others = [s for s in shares if s.user_id != user_id]
    if len(others) >= MAX_SHARES:
        raise FailedPrecondition(f"a customer can be shared with at most {MAX_SHARES} people", "user_id")
    return (*others, Share(user_id, parsed))


def remove_share(
    shares: Sequence[Share],
    *,
    owner_id: str | None,
    owner_unit_path: Sequence[str],
    actor: Actor,
    user_id: str,
) -> tuple[Share, ...]:
    require_owner_or_manager(actor, owner_id, owner_unit_path, "change sharing of this customer")
    if all(s.user_id != user_id for s in shares):
        raise NotFound(f"customer is not shared with {user_id}", "user_id")
    return tuple(s for s in shares if s.user_id != user_id)


def can_write(actor_id: str, owner_id: str | None, shares: Sequence[Share]) -> bool:
    """Owner and co-owners edit; collaborators only read."""
    return actor_id == owner_id or any(s.user_id == actor_id and s.role is ShareRole.CO_OWNER for s in shares)


def can_read(actor_id: str, owner_id: str | None, shares: Sequence[Share]) -> bool:
    """Direct access only; subtree (manager) visibility is the data-scope filter's job."""
    return actor_id == owner_id or any(s.user_id == actor_id for s in shares)
