"""Pool use cases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import localtime
from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.ids import new_id
from salesgrid_customers import customer_events
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.stores.customer_lists import pool_page
from salesgrid_customers.stores.customers import active_customer, move_customer
from salesgrid_customers.stores.pool import (
    claims_between,
    held_count,
    owned_with_activity,
    record_claim,
    record_warning,
)
from salesgrid_customers.stores.pool_policies import active_unit_path, put_pool_policy
from salesgrid_customers.stores.shares import end_shares
from salesgrid_customers.domain import pool
from salesgrid_customers.domain.errors import Conflict, FailedPrecondition, NotFound, PermissionDenied, ValidationFailed

from salesgrid_customers.usecases._support import CustomersUseCasesBase, POLICY_FIELDS, actor_of, unit_path


SCAN_BATCH = 500


async def held_and_claimed_today(session: AsyncSession, user_id: str, now: datetime) -> tuple[int, int, str]:
    """Active customers the user owns, his pool claims on today's calendar of his branch, and that
    branch's zone: what the claim caps are checked against (claim, and the standing shown before)."""
    held = await held_count(session, user_id)
    calendar = await localtime.user_calendar(session, user_id)
    start, end = calendar.day_bounds(calendar.today(now))
    return held, await claims_between(session, user_id, start, end), calendar.zone_name


class PoolMixin(CustomersUseCasesBase):
    """CustomersUseCases: pool."""

    async def release(self, principal: Principal, customer_id: str, reason: str = "") -> Customer:
        principal.require("pool:release")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await self._readable(session, principal, customer_id)
            released = pool.check_release(
                pool.PoolEntry(current.id, current.owner_id, current.previous_owner_id, current.released_at),
                current.owner_unit_path,
                actor_of(principal),
                now,
                reason,
            )
            stored = await move_customer(
                session,
                current,
                current.released_to_pool(released.previous_owner_id, now),
                released.previous_owner_id,
            )
            if stored is None:
                raise Conflict("customer changed owner concurrently", "owner_id")
            # A pool customer cannot be shared (sharing.add_share): its shares end with the release.
            await end_shares(session, [current.id])
            await self._emit(
                session,
                "released_to_pool",
                stored,
                principal,
                customer_events.released_to_pool(stored, released.released_by, released.reason),
            )
            await self._owner_changed(session, stored, principal, released.previous_owner_id, "release")
            return stored

    async def list_pool(
        self, principal: Principal, page_size: int = 50, cursor: str = ""
    ) -> tuple[list[Customer], str]:
        """The pool is public to everyone holding pool:read (公海), newest release first by id."""
        principal.require("pool:read")
        async with self.sessions() as session:
            return await pool_page(session, page_size, cursor)

    async def claim(self, principal: Principal, customer_id: str) -> Customer:
        principal.require("pool:claim")
        if not principal.org_path:
            raise FailedPrecondition("the caller has no org unit to own customers", "owner_id")
        me = principal.subject_id
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await active_customer(session, customer_id)
            if current is None:
                raise NotFound(f"customer {customer_id} does not exist", "id")
            held, today, zone_name = await held_and_claimed_today(session, me, now)
            pool.check_claim(
                pool.PoolEntry(current.id, current.owner_id, current.previous_owner_id, current.released_at),
                me,
                held_count=held,
                claims_today=today,
                now=now,
                zone_name=zone_name,
                policy=(await self._policy_in_force(session, principal.org_path))[0],
            )
            # Only one concurrent claimant can match `owner_id IS NULL`; the others update nothing.
            stored = await move_customer(
                session,
                current,
                current.claimed_by(me, principal.org_path, now),
                None,
            )
            if stored is None:
                raise FailedPrecondition("customer was claimed by someone else", "owner_id")
            record_claim(session, new_id(), current.id, me, now)
            await self._emit(session, "claimed", stored, principal, customer_events.claimed_from_pool(stored))
            await self._owner_changed(session, stored, principal, None, "claim")
            return stored

    async def pool_scan(self) -> tuple[int, int]:
        """Return overdue customers to the pool and warn owners ahead of it: (returned, warned).
        Each customer is applied in its own transaction, conditionally, so replicas scanning at
        the same time return and warn each customer once."""
        now = self.clock()
        returned = warned = 0
        after = ""
        while True:
            async with self.sessions() as session:
                batch = await owned_with_activity(session, after, SCAN_BATCH)
                policies = await self._unit_policies(session)
                calendars = localtime.UnitCalendars(session)
                zones = {c.owner_id: (await calendars.of_user(c.owner_id)).zone_name for c, _ in batch if c.owner_id}
            if not batch:
                return returned, warned
            after = batch[-1][0].id
            for customer, facts in batch:
                policy = pool.resolve_policy(customer.owner_unit_path, policies, self.policy)
                zone_name = zones[customer.owner_id]  # periods count on the owner's branch calendar
                if (decision := pool.due_for_return(facts, policy, now, zone_name)) is not None:
                    returned += await self._auto_return(customer, decision, now)
                elif (warning := pool.due_for_warning(facts, policy, now, zone_name)) is not None:
                    warned += await self._warn(customer, warning, now)

    async def _auto_return(self, customer: Customer, decision: pool.ReturnDecision, now: datetime) -> int:
        async with self.sessions() as session, session.begin():
            # Only while the owner and his assignment are those the decision was made on.
            stored = await move_customer(
                session,
                customer,
                customer.released_to_pool(decision.owner_id, now),
                decision.owner_id,
                same_assignment=True,
            )
            if stored is None:
                return 0
            await end_shares(session, [customer.id])
            await self._emit(
                session,
                "released_to_pool",
                stored,
                None,
                customer_events.released_to_pool(stored, "", f"auto:{decision.rule.value}"),
            )
            await self._owner_changed(session, stored, None, decision.owner_id, "auto_return")
        return 1

    async def _warn(self, row: Customer, warning: pool.ReturnWarning, now: datetime) -> int:
        try:
            async with self.sessions() as session, session.begin():
                if not await record_warning(session, warning.idempotency_key, row.id, now):
                    return 0  # a replica that inserted the same key first wins in record_warning
                await self._emit(
                    session, "pool_return_warning", row, None, customer_events.pool_return_warning(row, warning)
                )
        except IntegrityError:
            return 0
        return 1

    async def _policy_unit(self, session: AsyncSession, principal: Principal, unit_id: str) -> str:
        """The unit's path; administering pool policies needs customers:update at subtree or all."""
        scope = principal.require("customers:update")
        if scope < Scope.SUBTREE:
            raise PermissionDenied("pool policies need customers:update at subtree or all scope")
        if not unit_id.strip():
            raise ValidationFailed("the org unit is required", "unit_id")
        path = await active_unit_path(session, unit_id)
        if path is None:
            raise NotFound(f"org unit {unit_id} does not exist", "unit_id")
        if scope is Scope.SUBTREE and not (principal.org_path and path.startswith(principal.org_path)):
            raise PermissionDenied(f"org unit {unit_id} is outside your subtree")
        return path

    async def put_pool_policy(
        self, principal: Principal, unit_id: str, values: Mapping[str, int | None]
    ) -> pool.PoolPolicy:
        policy = pool.PoolPolicy(**{name: values[name] for name in POLICY_FIELDS if name in values})
        async with self.sessions() as session, session.begin():
            await self._policy_unit(session, principal, unit_id)
            await put_pool_policy(session, unit_id, policy, principal.subject_id, self.clock())
        return policy

    async def get_pool_policy(self, principal: Principal, unit_id: str) -> tuple[pool.PoolPolicy, str]:
        """The policy in force for the unit and the unit it comes from ("" for the default)."""
        async with self.sessions() as session:
            path = await self._policy_unit(session, principal, unit_id)
            return await self._policy_in_force(session, path)

    async def _policy_in_force(self, session: AsyncSession, org_path: str) -> tuple[pool.PoolPolicy, str]:
        """The policy of the nearest unit on the path that has one, and that unit ("": the default)."""
        policies = await self._unit_policies(session)
        for unit in reversed(unit_path(org_path)):
            if unit in policies:
                return policies[unit], unit
        return self.policy, ""
