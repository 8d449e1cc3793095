"""Who may act on a customer: its owner, or a manager above the owner's org unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import PermissionDenied

# Roles that manage the people in their unit's subtree (销售主管 / 销售经理 / 销售总监 / 区总):
# identity's built-in role codes, and the longer names custom roles were given before.
MANAGER_ROLES = frozenset({"supervisor", "manager", "director", "regional_head", "sales_manager", "sales_director"})


@dataclass(frozen=True)
class Actor:
    """The caller. unit_path is the org unit ids from the root to the actor's own unit."""

    user_id: str
    unit_path: tuple[str, ...]
    roles: frozenset[str] = frozenset()

    @property
    def unit_id(self) -> str | None:
        return self.unit_path[-1] if self.unit_path else None


def is_manager_of(actor: Actor, owner_unit_path: Sequence[str]) -> bool:
    """True when the actor has a manager role and his unit lies on the owner's unit path,
    i.e. the owner's unit is in the actor's subtree. Fails closed on missing data."""
    if not actor.roles & MANAGER_ROLES or actor.unit_id is None or not owner_unit_path:
        return False
    return actor.unit_id in owner_unit_path


def is_owner_or_manager(actor: Actor, owner_id: str | None, owner_unit_path: Sequence[str]) -> bool:
    if owner_id is not None and actor.user_id == owner_id:
        return True
    return is_manager_of(actor, owner_unit_path)


def require_owner_or_manager(actor: Actor, owner_id: str | None, owner_unit_path: Sequence[str], action: str) -> None:
    if not is_owner_or_manager(actor, owner_id, owner_unit_path):
        raise PermissionDenied(f"only the owner or his manager may {action}", "actor")
