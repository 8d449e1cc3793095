"""Unit policies use cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_activities.domain import unit_policies
from salesgrid_activities.models import UnitPolicyRow

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


class UnitPoliciesMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: unit policies."""

    async def _policy_unit(self, session: AsyncSession, principal: Principal, unit_id: str, permission: str) -> str:
        """The unit's path, once the caller may act on it."""
        principal.require(permission)
        return await unit_path_in_scope(session, principal, unit_id, permission)

    async def set_unit_policy(
        self, principal: Principal, unit_id: str, values: dict[str, Any]
    ) -> tuple[UnitPolicyRow | None, unit_policies.Policies]:
        principal.require("org_units:update")
        now = self.clock()
        overrides = unit_policies.validate_overrides(**values)
        async with self.sessions() as session, session.begin():
            path = await self._policy_unit(session, principal, unit_id, "org_units:update")
            row = await session.get(UnitPolicyRow, unit_id)
            if overrides.empty:
                if row is not None:
                    await session.delete(row)
                row = None
            else:
                if row is None:
                    row = UnitPolicyRow(unit_id=unit_id, version=0)
                    session.add(row)
                row.check_in_radius_m = overrides.check_in_radius_m
                deadline = overrides.report_deadline
                row.report_deadline = deadline.strftime("%H:%M") if deadline else None
                row.late_fine, row.missing_fine = overrides.late_fine, overrides.missing_fine
                row.falsified_fine, row.currency = overrides.falsified_fine, overrides.currency
                row.updated_by, row.updated_at, row.version = principal.subject_id, now, row.version + 1
            await session.flush()
            return row, await self._policies(session, path)

    async def get_unit_policy(
        self, principal: Principal, unit_id: str
    ) -> tuple[UnitPolicyRow | None, unit_policies.Policies]:
        async with self.sessions() as session:
            path = await self._policy_unit(session, principal, unit_id, "org_units:read")
            return await session.get(UnitPolicyRow, unit_id), await self._policies(session, path)
