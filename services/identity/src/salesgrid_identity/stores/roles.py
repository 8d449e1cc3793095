"""The role store: the one mapping between a `roles` row and the domain Role (`role_from_row` /
`role_to_row`), lookups, inserts and the built-in roles' upsert."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_identity import models
from salesgrid_identity.domain.roles import Role

Row = models.Role


def role_from_row(row: Row) -> Role:
    return Role(row.code, row.name, dict(row.permissions or {}), row.builtin)


def role_to_row(role: Role) -> dict[str, Any]:
    return {"code": role.code, "name": role.name, "builtin": role.builtin, "permissions": dict(role.permissions)}


# Built once, bound at execution, plain rows (Core): every GetMe, login and refresh runs it.
_ROLES = select(Row.__table__).where(Row.__table__.c.code.in_(bindparam("codes", expanding=True)))


async def roles_by_code(session: AsyncSession, codes: Sequence[str]) -> list[Role]:
    """The roles of these codes that exist (a user's roles), in one query."""
    if not codes:
        return []
    return [role_from_row(row) for row in await session.execute(_ROLES, {"codes": list(codes)})]


async def get_role(session: AsyncSession, code: str) -> Role | None:
    row = await session.get(Row, code)
    return None if row is None else role_from_row(row)


async def role_exists(session: AsyncSession, code: str) -> bool:
    return await session.get(Row, code) is not None


def insert_role(session: AsyncSession, role: Role) -> None:
    session.add(Row(**role_to_row(role)))


async def all_roles(session: AsyncSession) -> list[Role]:
    return [role_from_row(row) for row in (await session.scalars(select(Row).order_by(Row.code))).all()]


async def put_builtin_role(session: AsyncSession, role: Role) -> None:
    """Insert a built-in role, or bring the stored one's name and permissions up to date."""
    row = await session.get(Row, role.code)
    if row is None:
        insert_role(session, role)
    else:
        row.name, row.permissions = role.name, dict(role.permissions)
