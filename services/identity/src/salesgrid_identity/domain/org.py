"""Org-tree rules: validation of units, materialised paths, moves without cycles, IP allow-lists."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from salesgrid_common import currencies, zones
from salesgrid_common.errors import ValidationFailed

UNIT_KINDS = ("company", "region", "branch", "team", "other")


@dataclass(frozen=True)
class OrgUnit:
    """A unit of the org tree; `path` names its ancestors root first ("/c/r1/b1/")."""

    id: str
    parent_id: str | None
    name: str
    code: str
    kind: str
    path: str
    time_zone: str
    currency: str
    created_at: datetime
    has_ip_allowlist: bool = False  # False: the nearest ancestor's allow-list applies
    ip_allowlist: tuple[str, ...] = ()
    active: bool = True
    version: int = 1


def validate_time_zone(name: str, field: str = "time_zone") -> str:
    """`name` if it is an IANA time zone (the shared kernel's one zone lookup)."""
    zones.zone(name, field)
    return name


def validate_currency(code: str, field: str = "currency") -> str:
    """`code` if it is in the platform's one ISO-4217 table (salesgrid_common.currencies)."""
    if code not in currencies.MINOR_UNITS:
        raise ValidationFailed(f"{code!r} is not a supported ISO 4217 currency", field)
    return code


def validate_name(name: str, field: str = "name", max_length: int = 200) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationFailed("must not be empty", field)
    if len(cleaned) > max_length:
        raise ValidationFailed(f"must be at most {max_length} characters", field)
    return cleaned


def validate_cidrs(cidrs: Sequence[str], field: str = "ip_allowlist") -> list[str]:
    normalised = []
    for index, cidr in enumerate(cidrs):
        try:
            normalised.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError:
            raise ValidationFailed(f"{cidr!r} is not a valid CIDR", f"{field}[{index}]") from None
    return normalised


def child_path(parent_path: str, unit_id: str) -> str:
    return f"{parent_path}{unit_id}/"


def check_move(unit_path: str, new_parent_path: str) -> None:
    """A unit cannot move under itself or one of its descendants."""
    if new_parent_path.startswith(unit_path):
        raise ValidationFailed("moving a unit under itself or its descendant would create a cycle", "new_parent_id")


def effective_allowlist(chain: Sequence[tuple[bool, Sequence[str]]]) -> list[str]:
    """The allow-list in force for a unit given its chain from itself up to the root as
    (has_own_list, list) pairs: the nearest unit that sets one wins (descendants inherit)."""
    for has_own, cidrs in chain:
        if has_own:
            return list(cidrs)
    return []
