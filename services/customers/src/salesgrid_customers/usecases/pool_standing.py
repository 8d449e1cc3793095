"""The caller's standing under the public-pool policy of his unit: the policy (own unit's or the
nearest ancestor's), how many customers he holds and claimed today, and the customers he released
that are still cooling down for him. Read ahead of a claim with the counts the claim itself uses,
so what the console shows is what the claim will decide."""

from __future__ import annotations

from datetime import timedelta

from salesgrid_common.auth.principal import Principal

from salesgrid_customers.domain.errors import FailedPrecondition
from salesgrid_customers.domain.pool_standing import PoolStanding, standing
from salesgrid_customers.stores.pool import released_by_since
from salesgrid_customers.usecases import CustomersUseCases
from salesgrid_customers.usecases.pool import held_and_claimed_today


class PoolStandingUseCases:
    def __init__(self, customers: CustomersUseCases) -> None:
        self.customers = customers

    async def my_standing(self, principal: Principal) -> tuple[PoolStanding, str]:
        """The caller's standing and his branch's zone. Only about the caller: nothing to scope."""
        principal.require("pool:read")
        if not principal.org_path:
            raise FailedPrecondition("the caller has no org unit, so no pool policy applies", "unit_id")
        me, now = principal.subject_id, self.customers.clock()
        async with self.customers.reader() as session:
            policy, source = await self.customers._policy_in_force(session, principal.org_path)
            held, today, zone_name = await held_and_claimed_today(session, me, now)
            # Released by him, back in the pool, within the cool-down (a day of margin for DST).
            since = now - timedelta(days=policy.reclaim_cooldown_days + 1)
            released = await released_by_since(session, me, since)
        return standing(
            policy, source, held_count=held, claims_today=today, released=released, now=now, zone_name=zone_name
        ), zone_name
