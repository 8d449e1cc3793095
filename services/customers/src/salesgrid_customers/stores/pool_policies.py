"""The pool-policy store: the one mapping between a `customer_pool_policies` row and a unit's
domain PoolPolicy (who set it and when stay on the row), the stored policies and their upsert."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units
from salesgrid_customers import models
from salesgrid_customers.domain.pool import PoolPolicy

Row = models.PoolPolicyRow
RULES = tuple(f.name for f in fields(PoolPolicy))  # one column per rule


def pool_policy_from_row(row: Row) -> PoolPolicy:
    return PoolPolicy(**{name: getattr(row, name) for name in RULES})


def pool_policy_to_row(unit_id: str, policy: PoolPolicy, updated_by: str, updated_at: datetime) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        **{name: getattr(policy, name) for name in RULES},
        "updated_by": updated_by,
        "updated_at": updated_at,
    }


async def stored_pool_policies(session: AsyncSession) -> dict[str, PoolPolicy]:
    """Every unit's own policy by unit id (org units are few)."""
    return {row.unit_id: pool_policy_from_row(row) for row in (await session.scalars(select(Row))).all()}


async def put_pool_policy(
    session: AsyncSession, unit_id: str, policy: PoolPolicy, updated_by: str, updated_at: datetime
) -> None:
    """The unit's policy, replacing the one it had."""
    values = pool_policy_to_row(unit_id, policy, updated_by, updated_at)
    row = await session.get(Row, unit_id)
    if row is None:
        session.add(Row(**values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


async def active_unit_path(session: AsyncSession, unit_id: str) -> str | None:
    """The org path of an active unit of the directory replica (None: no such unit)."""
    path: str | None = await session.scalar(
        select(directory_units.c.path).where(directory_units.c.unit_id == unit_id, directory_units.c.active)
    )
    return path
