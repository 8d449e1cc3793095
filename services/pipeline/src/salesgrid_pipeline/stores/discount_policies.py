"""The discount policy store: rows of `discount_policies` (an org unit's own special-discount
thresholds, kept as decimal strings) <-> the domain's DiscountPolicy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_pipeline.domain.discounts import DiscountPolicy
from salesgrid_pipeline.models import DiscountPolicyRow as Row


def from_row(row: Row) -> DiscountPolicy:
    return DiscountPolicy(row.org_unit_id, Decimal(row.threshold_percent), Decimal(row.director_above_percent))


def to_row(policy: DiscountPolicy, row: Row, actor: str, now: datetime) -> None:
    row.org_unit_id = policy.org_unit_id
    row.threshold_percent = str(policy.threshold_percent)
    row.director_above_percent = str(policy.director_above_percent)
    row.updated_by, row.updated_at = actor, now


async def own_policies(session: AsyncSession, unit_ids: Sequence[str]) -> dict[str, DiscountPolicy]:
    """The policies these units set themselves (a unit without one is left out), in one query."""
    rows = await session.scalars(select(Row).where(Row.org_unit_id.in_(list(unit_ids))))
    return {row.org_unit_id: from_row(row) for row in rows}


async def save(session: AsyncSession, policy: DiscountPolicy, actor: str, now: datetime) -> None:
    """Set the unit's own policy (replacing the one it had)."""
    row = await session.get(Row, policy.org_unit_id)
    if row is None:
        row = Row()
        session.add(row)
    to_row(policy, row, actor, now)
