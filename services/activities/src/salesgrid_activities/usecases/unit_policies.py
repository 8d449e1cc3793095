"""Unit policies use cases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_activities.domain import unit_policies
from salesgrid_activities.stores.unit_policies import get_unit_policy, put_unit_policy

from salesgrid_activities.usecases._support import ActivitiesUseCasesBase


class UnitPoliciesMixin(ActivitiesUseCasesBase):
    """ActivitiesUseCases: unit policies."""

    async def _policy_unit(self, session: AsyncSession, principal: Principal, unit_id: str, permission: str) -> str:
        """The unit's path, once the caller may act on it."""
        principal.require(permission)
        return await unit_path_in_scope(session, principal, unit_id, permission)

    async def set_unit_policy(
        self, principal: Principal, unit_id: str, values: dict[str, Any]
    ) -> tuple[unit_policies.UnitPolicy | None, unit_policies.Policies]:
        principal.require("org_units:update")
        now = self.clock()
        overrides = unit_policies.validate_overrides(**values)
        async with self.sessions() as session, session.begin():
            path = await self._policy_unit(session, principal, unit_id, "org_units:update")
            current = await get_unit_policy(session, unit_id)
            policy = (
                None
                if overrides.empty
                else unit_policies.UnitPolicy(
                    unit_id, overrides, principal.subject_id, now, current.version + 1 if current else 1
                )
            )
            await put_unit_policy(session, current, policy)
            return policy, await self._policies(session, path)

    async def get_unit_policy(
        self, principal: Principal, unit_id: str
    ) -> tuple[unit_policies.UnitPolicy | None, unit_policies.Policies]:
        async with self.sessions() as session:
            path = await self._policy_unit(session, principal, unit_id, "org_units:read")
            return await get_unit_policy(session, unit_id), await self._policies(session, path)
