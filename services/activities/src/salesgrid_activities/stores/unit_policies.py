"""The unit-policy store: the one mapping between a `unit_policies` row and the domain UnitPolicy
(`unit_policy_from_row` / `unit_policy_to_row`), lookups, every unit's overrides by path, and
versioned writes (a unit without overrides has no row)."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.directory_tables import directory_units
from salesgrid_common.errors import Conflict
from salesgrid_activities.domain.unit_policies import PolicyOverrides, UnitPolicy
from salesgrid_activities.models import UnitPolicyRow


def unit_policy_from_row(row: UnitPolicyRow) -> UnitPolicy:
    overrides = PolicyOverrides(
        check_in_radius_m=row.check_in_radius_m,
        report_deadline=time.fromisoformat(row.report_deadline) if row.report_deadline else None,
        late_fine=row.late_fine,
        missing_fine=row.missing_fine,
        falsified_fine=row.falsified_fine,
        currency=row.currency,
    )
    return UnitPolicy(row.unit_id, overrides, row.updated_by, row.updated_at, row.version)


def unit_policy_to_row(policy: UnitPolicy) -> dict[str, Any]:
    o = policy.overrides
    return {
        "unit_id": policy.unit_id,
        "check_in_radius_m": o.check_in_radius_m,
        "report_deadline": o.report_deadline.strftime("%H:%M") if o.report_deadline else None,
        "late_fine": o.late_fine,
        "missing_fine": o.missing_fine,
        "falsified_fine": o.falsified_fine,
        "currency": o.currency,
        "updated_by": policy.updated_by,
        "updated_at": policy.updated_at,
        "version": policy.version,
    }


async def get_unit_policy(session: AsyncSession, unit_id: str) -> UnitPolicy | None:
    row = await session.get(UnitPolicyRow, unit_id)
    return None if row is None else unit_policy_from_row(row)


async def put_unit_policy(session: AsyncSession, before: UnitPolicy | None, after: UnitPolicy | None) -> None:
    """Store `after` (None: the unit inherits everything, its row goes) over `before`, the policy
    as it was loaded; a concurrent change of the row loses here."""
    if before is not None:
        guard = (UnitPolicyRow.unit_id == before.unit_id, UnitPolicyRow.version == before.version)
        if after is None:
            result = await session.execute(delete(UnitPolicyRow).where(*guard))
        else:
            values = {k: v for k, v in unit_policy_to_row(after).items() if k not in ("unit_id", "version")}
            result = await session.execute(
                update(UnitPolicyRow).where(*guard).values(**values, version=UnitPolicyRow.version + 1)
            )
        if result.rowcount != 1:
            raise Conflict(f"the policy of unit {before.unit_id} was changed concurrently", "unit_id")
    elif after is not None:
        session.add(UnitPolicyRow(**unit_policy_to_row(after)))
    await session.flush()


async def overrides_by_path(session: AsyncSession) -> list[tuple[str, PolicyOverrides]]:
    """Every unit's overrides with the unit's path (units the directory does not know yet are left
    out), in one query."""
    rows = await session.execute(
        select(UnitPolicyRow, directory_units.c.path).join(
            directory_units, directory_units.c.unit_id == UnitPolicyRow.unit_id
        )
    )
    return [(path, unit_policy_from_row(row).overrides) for row, path in rows.all()]
