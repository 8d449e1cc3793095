"""Merge use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from salesgrid_common.auth.principal import Principal
from salesgrid_common.customer_merges import record_merge
from salesgrid_customers import customer_events
from salesgrid_customers.domain import merge
from salesgrid_customers.domain.concurrency import check_version
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.stores.contacts import contacts_by_customer, save_contact
from salesgrid_customers.stores.customers import CO_OWNERS, load_customer, save_customer
from salesgrid_customers.stores.facts import repoint_facts
from salesgrid_customers.domain.errors import Conflict, ValidationFailed

from salesgrid_customers.stores.shares import add_shares, end_shares, shares_of
from salesgrid_customers.usecases._support import CustomersUseCasesBase, actor_of


class MergeMixin(CustomersUseCasesBase):
    """CustomersUseCases: merge."""

    async def merge(
        self, principal: Principal, survivor_id: str, duplicate_ids: Sequence[str], expected_version: int = 0
    ) -> tuple[Customer, merge.MergePlan]:
        """Fold duplicates into the survivor: contacts move over, shares unite, the duplicates are
        deactivated, and `merged` tells pipeline, activities and contracts to re-point."""
        principal.require("customers:merge")
        if not survivor_id.strip():
            raise ValidationFailed("the surviving customer is required", "survivor_id")
        if not duplicate_ids or any(not i.strip() for i in duplicate_ids):
            raise ValidationFailed("name the customers to merge", "duplicate_ids")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            survivor = await load_customer(session, principal, survivor_id, "customers:merge", CO_OWNERS)
            check_version(expected_version or survivor.version, survivor.version)
            if len(set(duplicate_ids)) != len(duplicate_ids) or survivor_id in duplicate_ids:
                raise ValidationFailed("distinct customers other than the survivor", "duplicate_ids")
            duplicates = [
                await load_customer(session, principal, i, "customers:merge", CO_OWNERS) for i in duplicate_ids
            ]
            contacts = await contacts_by_customer(session, [survivor_id, *duplicate_ids])
            survivor, duplicates = (
                replace(survivor, contacts=contacts[survivor.id]),
                [replace(d, contacts=contacts[d.id]) for d in duplicates],
            )
            plan = merge.plan_merge(
                survivor,
                duplicates,
                actor_of(principal),
                {c.id: await shares_of(session, c.id) for c in (survivor, *duplicates)},
            )
            # Later events about a merged id (consumed in handlers) count for the survivor; first, so
            # a handler writing facts of a merged id finishes before the facts are moved, or waits.
            await record_merge(session, survivor.id, plan.merged_ids, now)
            # Every record must still be at the version the plan was made from.
            try:
                stored = await save_customer(session, survivor, replace(plan.survivor, updated_at=now))
                for duplicate in duplicates:
                    await save_customer(session, duplicate, replace(duplicate, active=False, updated_at=now))
            except Conflict:
                raise Conflict("a customer of the merge was modified concurrently", "version") from None
            loaded = {c.id: c for held in contacts.values() for c in held}
            for contact in plan.survivor.contacts:  # the duplicates' contacts move to the survivor
                await save_contact(session, loaded[contact.id], replace(contact, customer_id=survivor.id))
            involved = [survivor.id, *plan.merged_ids]
            await end_shares(session, involved)
            add_shares(session, survivor.id, plan.shares, now)
            await repoint_facts(session, survivor.id, plan.merged_ids)
            await self._emit(session, "merged", stored, principal, customer_events.merged(stored, plan.merged_ids))
            await self._emit_state(session, "updated", stored, principal)
            return stored, plan

    async def deactivate(self, principal: Principal, customer_id: str, expected_version: int) -> Customer:
        principal.require("customers:delete")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await load_customer(session, principal, customer_id, "customers:delete", CO_OWNERS)
            check_version(expected_version, current.version)
            stored = await save_customer(session, current, replace(current, active=False, updated_at=now))
            await self._emit_state(session, "deactivated", stored, principal)
            return stored
