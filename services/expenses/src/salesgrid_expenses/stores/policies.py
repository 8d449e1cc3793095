"""The expense-policy store: the one mapping between an `expense_policies` row and the domain
ExpensePolicy (`policy_from_row` / `policy_to_row`), the policies of a unit's chain and the
upsert of a unit's own (a policy carries no version: the last administrator's save wins)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_expenses import models
from salesgrid_expenses.domain.claims import Category
from salesgrid_expenses.domain.policy import ExpensePolicy

Row = models.PolicyRow

# Built once, bound at execution: every submit and GetPolicy reads the unit's chain.
_CHAIN = select(Row).where(Row.org_unit_id.in_(bindparam("unit_ids", expanding=True)))


def policy_from_row(row: Row) -> ExpensePolicy:
    return ExpensePolicy(
        row.org_unit_id,
        row.currency,
        {Category(k): Decimal(v) for k, v in row.limits.items()},
        row.director_above,
    )


def policy_to_row(policy: ExpensePolicy, updated_by: str, updated_at: datetime) -> dict[str, Any]:
    """The unit's row; limits as exact decimal text by category."""
    return {
        "org_unit_id": policy.org_unit_id,
        "currency": policy.currency,
        "limits": {k.value: str(v) for k, v in policy.daily_limits.items()},
        "director_above": policy.director_above,
        "updated_by": updated_by,
        "updated_at": updated_at,
    }


async def policies_of_units(session: AsyncSession, unit_ids: Sequence[str]) -> dict[str, ExpensePolicy]:
    """The units' own policies (those that have one), by unit, in one query."""
    rows = await session.scalars(_CHAIN, {"unit_ids": list(unit_ids)})
    return {row.org_unit_id: policy_from_row(row) for row in rows}


async def put_policy(session: AsyncSession, policy: ExpensePolicy, updated_by: str, updated_at: datetime) -> None:
    """Store the unit's own policy, replacing the one it had."""
    values = policy_to_row(policy, updated_by, updated_at)
    stored = await session.get(Row, policy.org_unit_id)
    if stored is None:
        session.add(Row(**values))
    else:
        for name, value in values.items():
            setattr(stored, name, value)
