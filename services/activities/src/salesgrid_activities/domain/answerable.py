"""Who answers for an API key: a key acts for nobody's inbox, so what concerns it (a webhook
subscription of the key's disabled after failing for days) goes to the person who created it,
or -- when he is unknown, gone or deactivated -- to the administrators of the key's unit: those
with the administrator role over it (their unit is the key's or an ancestor), at the nearest
level, so a branch's administrators hear of their branch's keys before the head office does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Person:
    user_id: str
    org_path: str
    roles: tuple[str, ...]
    active: bool


def answerable_for_key(creator: Person | None, key_path: str, people: Sequence[Person]) -> list[str]:
    """The recipients for a notice about an API key of the unit at `key_path`: its creator if he
    is still active, else the nearest administrators over the unit (sorted); [] when nobody."""
    if creator is not None and creator.active:
        return [creator.user_id]
    if not key_path:
        return []
    over = [p for p in people if p.active and ADMIN_ROLE in p.roles and p.org_path and key_path.startswith(p.org_path)]
    if not over:
        return []
    nearest = max(len(p.org_path) for p in over)
    return sorted(p.user_id for p in over if len(p.org_path) == nearest)
