"""The org units' expense policies (admin-configured, inherited down the org tree)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import orgpaths
from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_expenses import policy_events
from salesgrid_expenses.domain import policy as rules
from salesgrid_expenses.stores.policies import policies_of_units, put_policy
from salesgrid_expenses.usecases._support import ExpensesUseCasesBase


def unit_path(org_path: str) -> list[str]:
    """The units of a path, the unit itself first, then its ancestors."""
    return orgpaths.units_nearest_first(org_path)


async def policy_in_force(session: AsyncSession, org_path: str) -> rules.ExpensePolicy:
    path = unit_path(org_path)
    return rules.policy_for_unit(path, await policies_of_units(session, path))


class PolicyMixin(ExpensesUseCasesBase):
    async def set_policy(
        self,
        principal: Principal,
        org_unit_id: str,
        currency: str,
        limits: Sequence[tuple[str, str]],
        director_above: str,
    ) -> rules.ExpensePolicy:
        principal.require("org_units:update")
        policy = rules.new_policy(org_unit_id, (currency or "").strip().upper(), limits, director_above)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            path = await unit_path_in_scope(session, principal, policy.org_unit_id, "org_units:update", "org_unit_id")
            await put_policy(session, policy, principal.subject_id, now)
            await self._event(
                session,
                "policy.set",
                policy_events.policy_set(policy),
                policy.org_unit_id,
                principal,
                path,
                now,
            )
        return policy

    async def get_policy(self, principal: Principal, org_unit_id: str) -> rules.ExpensePolicy:
        """The policy in force for the unit: its own, an ancestor's, or the defaults."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            path = await unit_path_in_scope(session, principal, org_unit_id, "org_units:read", "org_unit_id")
            return await policy_in_force(session, path)
