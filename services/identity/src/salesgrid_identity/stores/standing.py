"""A user's standing in one statement: his row, his unit's chain (the allow-lists in force) and the
stored grants of the roles he holds -- what GetMe, a token refresh and a login read on every call.
Plain rows (Core), built once per dialect and bound at execution: three ORM statements cost more
than the user's answer (docs/perf-notes/perf-identity.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from sqlalchemy import Select, Text, bindparam, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import Reads, dialect_name
from salesgrid_common.driver_rows import driver_rows

from salesgrid_common.scopes import Scope
from salesgrid_identity import models
from salesgrid_identity.domain import org, roles
from salesgrid_identity.stores.users import user_from_row
from salesgrid_identity.domain.users import User

_USERS, _UNITS, _ROLES = models.User.__table__, models.OrgUnit.__table__, models.Role.__table__


@dataclass(frozen=True)
class Standing:
    """A user as stored, the path of his unit, the allow-list in force there and the stored
    grants (JSON text) of his roles, each once, in code order."""

    user: User
    org_path: str
    ip_allowlist: tuple[str, ...]
    role_grants: tuple[str, ...]

    @property
    def permissions(self) -> Mapping[str, Scope]:
        return permissions_of(self.role_grants)


@lru_cache(maxsize=256)
def permissions_of(role_grants: tuple[str, ...]) -> Mapping[str, Scope]:
    """The effective permissions of roles stored with these grants, checked against the catalogue
    (a stored grant it no longer knows fails, as it always did). A pure function of the stored
    text, so memoised: bounded at 256 distinct sets of roles, and a role's edited grants are
    another key, visible at once in every replica. Read-only: the same mapping serves every call."""
    held = [roles.validate_permissions(json.loads(text)) for text in role_grants]
    return MappingProxyType(roles.effective_permissions(held))


def _statement(dialect: str, by: str) -> Select[Any]:
    own, ancestor = _UNITS.alias("own"), _UNITS.alias("ancestor")
    # The role codes in the user's JSON list, as rows (each database's own JSON function).
    elements = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    codes = select(elements(_USERS.c.roles).table_valued("value").c.value).scalar_subquery()
    return (
        select(
            _USERS,
            ancestor.c.path.label("chain_path"),
            ancestor.c.has_ip_allowlist.label("chain_has_allowlist"),
            ancestor.c.ip_allowlist.label("chain_allowlist"),
            _ROLES.c.code.label("role_code"),
            # as stored: the key of `permissions_of`, never decoded when it is memoised
            cast(_ROLES.c.permissions, Text).label("role_grants"),
        )
        .select_from(
            _USERS.join(own, own.c.id == _USERS.c.unit_id)
            # the unit and its ancestors, as in org_units.unit_chain (substr, not LIKE)
            .join(ancestor, func.substr(own.c.path, 1, func.length(ancestor.c.path)) == ancestor.c.path)
            .outerjoin(_ROLES, _ROLES.c.code.in_(codes))
        )
        .where(_USERS.c[by] == bindparam("key"))
    )


_STATEMENTS = {(dialect, by): _statement(dialect, by) for dialect in ("sqlite", "postgresql") for by in ("id", "login")}


async def standing_by_id(session: Reads, user_id: str) -> Standing | None:
    return await _standing(session, "id", user_id) if user_id else None


async def standing_by_login(session: AsyncSession, login: str) -> Standing | None:
    return await _standing(session, "login", login) if login else None


async def _standing(session: Reads, by: str, key: str) -> Standing | None:
    statement = _STATEMENTS[dialect_name(session), by]
    # GetMe's read runs on the driver (reading's connection); a login's session through SQLAlchemy
    rows = await driver_rows(session, statement, {"key": key}, named=True)
    if not rows:
        return None
    # one row per (unit of the chain, role held): each unit and each role once
    chain = {row.chain_path: (row.chain_has_allowlist, row.chain_allowlist or ()) for row in rows}
    grants = {row.role_code: row.role_grants for row in rows if row.role_code is not None}
    paths = sorted(chain, key=len, reverse=True)  # the unit itself first, then up to the root
    return Standing(
        user=user_from_row(rows[0]),
        org_path=paths[0],
        ip_allowlist=tuple(org.effective_allowlist([chain[path] for path in paths])),
        role_grants=tuple(grants[code] for code in sorted(grants)),
    )
