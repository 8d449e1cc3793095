"""Merge use cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerMerged
from salesgrid_common.auth import Principal
from salesgrid_common.customer_merges import record_merge
from salesgrid_customers import models
from salesgrid_customers.domain import customer as domain, merge
from salesgrid_customers.domain.concurrency import check_version
from salesgrid_customers.domain.customer import Address, GeoPoint, Tier
from salesgrid_customers.domain.errors import Conflict, ValidationFailed

from salesgrid_customers.usecases._support import CO_OWNERS, CustomersUseCasesBase, actor_of, unit_path


class MergeMixin(CustomersUseCasesBase):
    """CustomersUseCases: merge."""

    @staticmethod
    async def _as_domain(session: AsyncSession, row: models.Customer) -> domain.Customer:
        contacts = (
            await session.scalars(
                select(models.Contact).where(models.Contact.customer_id == row.id).order_by(models.Contact.id)
            )
        ).all()
        point = (
            GeoPoint(row.latitude, row.longitude) if row.latitude is not None and row.longitude is not None else None
        )
        return domain.Customer(
            id=row.id,
            legal_name=row.legal_name,
            normalised_name=row.normalised_name,
            created_at=row.created_at,
            owner_id=row.owner_id,
            owner_unit_path=unit_path(row.org_path),
            credit_code=row.credit_code,
            industry=row.industry,
            address=Address(row.address_text, point) if row.address_text else None,
            tier=Tier(row.tier),
            tags=tuple(row.tags),
            source=row.source,
            version=row.version,
            contacts=tuple(
                domain.Contact(c.id, c.full_name, c.title, tuple(c.phones), c.email, c.is_primary) for c in contacts
            ),
        )

    async def merge(
        self, principal: Principal, survivor_id: str, duplicate_ids: Sequence[str], expected_version: int = 0
    ) -> tuple[models.Customer, merge.MergePlan]:
        """Fold duplicates into the survivor: contacts move over, shares unite, the duplicates are
        deactivated, and `merged` tells pipeline, activities and contracts to re-point."""
        principal.require("customers:merge")
        if not survivor_id.strip():
            raise ValidationFailed("the surviving customer is required", "survivor_id")
        if not duplicate_ids or any(not i.strip() for i in duplicate_ids):
            raise ValidationFailed("name the customers to merge", "duplicate_ids")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            survivor_row = await self._load(session, principal, survivor_id, "customers:merge", CO_OWNERS)
            check_version(expected_version or survivor_row.version, survivor_row.version)
            if len(set(duplicate_ids)) != len(duplicate_ids) or survivor_id in duplicate_ids:
                raise ValidationFailed("distinct customers other than the survivor", "duplicate_ids")
            rows = [await self._load(session, principal, i, "customers:merge", CO_OWNERS) for i in duplicate_ids]
            plan = merge.plan_merge(
                await self._as_domain(session, survivor_row),
                [await self._as_domain(session, r) for r in rows],
                actor_of(principal),
                {r.id: await self._shares(session, r.id) for r in (survivor_row, *rows)},
            )
            # Later events about a merged id (consumed in handlers) count for the survivor; first, so
            # a handler writing facts of a merged id finishes before the facts are moved, or waits.
            await record_merge(session, survivor_row.id, plan.merged_ids, now)
            merged = plan.survivor
            point = merged.address.point if merged.address else None
            # Every record must still be at the version the plan was made from.
            for row in (survivor_row, *rows):
                values: dict[str, Any] = {"version": row.version + 1, "updated_at": now}
                if row is survivor_row:
                    values.update(
                        credit_code=merged.credit_code,
                        industry=merged.industry,
                        tier=merged.tier.value,
                        tags=list(merged.tags),
                        source=merged.source,
                        created_at=merged.created_at,
                        address_text=merged.address.text if merged.address else None,
                        latitude=point.latitude if point else None,
                        longitude=point.longitude if point else None,
                    )
                else:
                    values["active"] = False
                result = await session.execute(
                    update(models.Customer)
                    .where(models.Customer.id == row.id, models.Customer.version == plan.expected_versions[row.id])
                    .values(**values)
                )
                if result.rowcount != 1:
                    raise Conflict(f"customer {row.id} was modified concurrently", "version")
            for contact in merged.contacts:
                await session.execute(
                    update(models.Contact)
                    .where(models.Contact.id == contact.id)
                    .values(customer_id=survivor_row.id, is_primary=contact.primary)
                )
            involved = [survivor_row.id, *plan.merged_ids]
            await session.execute(delete(models.Share).where(models.Share.customer_id.in_(involved)))
            session.add_all(
                models.Share(customer_id=survivor_row.id, user_id=sh.user_id, role=sh.role.value, created_at=now)
                for sh in plan.shares
            )
            await session.execute(
                delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id.in_(plan.merged_ids))
            )
            await self._repoint_facts(session, survivor_row.id, plan.merged_ids)
            await session.refresh(survivor_row)
            await self._emit(
                session,
                "merged",
                survivor_row,
                principal,
                CustomerMerged(
                    survivor_id=survivor_row.id,
                    merged_ids=plan.merged_ids,
                    owner_id=survivor_row.owner_id or "",
                    org_path=survivor_row.org_path,
                ),
            )
            await self._emit_state(session, "updated", survivor_row, principal)
            return survivor_row, plan

    @staticmethod
    async def _repoint_facts(session: AsyncSession, survivor_id: str, merged_ids: Sequence[str]) -> None:
        """Our replicas of other services' facts follow the merge: producers re-point their records
        on `merged` but do not replay their history."""
        for model in (models.OpportunityFact, models.ContractFact, models.MoneyFact):
            await session.execute(
                update(model).where(model.customer_id.in_(merged_ids)).values(customer_id=survivor_id)
            )
        facts = (
            await session.scalars(select(models.RepActivity).where(models.RepActivity.customer_id.in_(merged_ids)))
        ).all()
        for fact in facts:
            target = await session.get(models.RepActivity, (survivor_id, fact.rep_id))
            if target is None:
                target = models.RepActivity(customer_id=survivor_id, rep_id=fact.rep_id, follow_up_count=0)
                session.add(target)
            target.follow_up_count = (target.follow_up_count or 0) + fact.follow_up_count
            for name, pick in (
                ("first_follow_up_at", min),
                ("last_follow_up_at", max),
                ("first_opportunity_at", min),
                ("last_opportunity_at", max),
                ("last_deal_at", max),
            ):
                known = [v for v in (getattr(target, name), getattr(fact, name)) if v is not None]
                setattr(target, name, pick(known) if known else None)
            await session.delete(fact)

    async def deactivate(self, principal: Principal, customer_id: str, expected_version: int) -> models.Customer:
        principal.require("customers:delete")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, customer_id, "customers:delete", CO_OWNERS)
            check_version(expected_version, row.version)
            result = await session.execute(
                update(models.Customer)
                .where(models.Customer.id == row.id, models.Customer.version == expected_version)
                .values(active=False, version=expected_version + 1, updated_at=now)
            )
            if result.rowcount != 1:
                raise Conflict("customer was modified concurrently", "version")
            await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == row.id))
            await session.refresh(row)
            await self._emit_state(session, "deactivated", row, principal)
            return row
