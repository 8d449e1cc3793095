"""The org-unit store: the one mapping between an `org_units` row and the domain OrgUnit
(`unit_from_row` / `unit_to_row`), lookups, listings, inserts, versioned saves and subtree moves."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.errors import Conflict
from salesgrid_identity import models
from salesgrid_identity.domain.org import OrgUnit

Row = models.OrgUnit


def unit_from_row(row: Row) -> OrgUnit:
    return OrgUnit(
        id=row.id,
        parent_id=row.parent_id,
        name=row.name,
        code=row.code,
        kind=row.kind,
        path=row.path,
        time_zone=row.time_zone,
        currency=row.currency,
        created_at=row.created_at,
        has_ip_allowlist=row.has_ip_allowlist,
        ip_allowlist=tuple(row.ip_allowlist or ()),
        active=row.active,
        version=row.version,
    )


def unit_to_row(unit: OrgUnit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "parent_id": unit.parent_id,
        "name": unit.name,
        "code": unit.code,
        "kind": unit.kind,
        "path": unit.path,
        "time_zone": unit.time_zone,
        "currency": unit.currency,
        "has_ip_allowlist": unit.has_ip_allowlist,
        "ip_allowlist": list(unit.ip_allowlist),
        "active": unit.active,
        "version": unit.version,
        "created_at": unit.created_at,
    }


async def get_unit(session: AsyncSession, unit_id: str) -> OrgUnit | None:
    row = await session.get(Row, unit_id) if unit_id else None
    return None if row is None else unit_from_row(row)


# Built once, bound at execution; plain rows (Core), not ORM entities: these are read-only lookups
# on every login, refresh, GetMe and key exchange, and loading entities cost more than the query.
_TABLE = Row.__table__
_OWN, _ANCESTOR = _TABLE.alias("own"), _TABLE.alias("ancestor")
# A unit and its ancestors: the units whose stored path ("/acme/east/", trailing slash) begins the
# unit's own. Compared with substr, not LIKE, so that no character of an id acts as a wildcard.
_CHAIN = (
    select(_ANCESTOR)
    .join(_OWN, func.substr(_OWN.c.path, 1, func.length(_ANCESTOR.c.path)) == _ANCESTOR.c.path)
    .where(_OWN.c.id == bindparam("unit_id"))
)


async def unit_chain(session: AsyncSession, unit_id: str) -> list[OrgUnit]:
    """The unit and its ancestors in one query, root first and the unit itself last; [] when the
    unit does not exist."""
    if not unit_id:
        return []
    chain = sorted(
        (unit_from_row(row) for row in await session.execute(_CHAIN, {"unit_id": unit_id})), key=lambda u: len(u.path)
    )
    return chain if chain and chain[-1].id == unit_id else []


async def root_exists(session: AsyncSession) -> bool:
    """Whether the company's root unit (the one without a parent) exists."""
    return bool(await session.scalar(select(func.count()).select_from(Row).where(Row.parent_id.is_(None))))


async def units_under(session: AsyncSession, path: str, *, include_inactive: bool) -> list[OrgUnit]:
    """The units whose path starts with `path` ("" or "/": every unit), in tree order."""
    query = select(Row).order_by(Row.path)
    if path:
        query = query.where(Row.path.startswith(path))
    if not include_inactive:
        query = query.where(Row.active.is_(True))
    return [unit_from_row(row) for row in (await session.scalars(query)).all()]


async def insert_unit(session: AsyncSession, unit: OrgUnit) -> None:
    session.add(Row(**unit_to_row(unit)))
    await session.flush()


async def save_unit(session: AsyncSession, before: OrgUnit, after: OrgUnit) -> OrgUnit:
    """Store an edit if the row is still at `before`'s version; the stored unit, one version on."""
    old, new = unit_to_row(before), unit_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    result = await session.execute(
        update(Row).where(Row.id == before.id, Row.version == before.version).values(**changed, version=Row.version + 1)
    )
    if result.rowcount != 1:
        raise Conflict(f"org unit changed since version {before.version}", "version")
    return replace(after, version=before.version + 1)


async def repath_subtree(session: AsyncSession, old_path: str, new_path: str) -> None:
    """Every unit under `old_path` (itself included) moves under `new_path`."""
    for row in (await session.scalars(select(Row).where(Row.path.startswith(old_path)))).all():
        row.path = new_path + row.path[len(old_path) :]
    await session.flush()
