"""Customers use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from salesgrid_common.auth.principal import Principal
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.db import reading
from salesgrid_customers.domain.concurrency import check_version
from salesgrid_customers.domain.customer import Customer, Tier, make_customer, normalise_tag
from salesgrid_customers.domain.dedup import DuplicateReport
from salesgrid_customers.domain.search import parse_query
from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.stores.customer_lists import LIST_ORDERS, CustomerFilter, customers_page
from salesgrid_customers.stores.customers import save_customer

from salesgrid_customers.usecases._support import (
    CUSTOMER_FIELDS,
    AddressInput,
    CustomersUseCasesBase,
    _address,
)


SEARCH_CANDIDATES = 2000  # names a search reads from the key index before treating its words as common


@dataclass(frozen=True)
class CustomerChanges:
    """Fields of an update; None leaves a field unchanged."""

    legal_name: str | None = None
    credit_code: str | None = None
    industry: str | None = None
    address: AddressInput | None = None
    tier: str | None = None
    tags: Sequence[str] | None = None
    source: str | None = None
    owner_id: str | None = None  # reassignment
    custom_fields: Mapping[str, Any] | None = None  # keys given are set (empty clears); others unchanged


class CustomersMixin(CustomersUseCasesBase):
    """CustomersUseCases: customers."""

    async def create_customer(
        self,
        principal: Principal,
        *,
        legal_name: str,
        credit_code: str = "",
        industry: str = "",
        address: AddressInput | None = None,
        tier: str = "",
        tags: Sequence[str] = (),
        source: str = "",
        owner_id: str = "",
        custom_fields: Mapping[str, Any] | None = None,
    ) -> tuple[Customer, DuplicateReport]:
        principal.require("customers:create")
        async with self.sessions() as session, session.begin():
            return await self._create(
                session,
                principal,
                legal_name=legal_name,
                credit_code=credit_code,
                industry=industry,
                address=address,
                tier=tier,
                tags=tags,
                source=source,
                owner_id=owner_id,
                custom_fields=custom_fields,
            )

    async def get_customer(self, principal: Principal, customer_id: str) -> Customer:
        async with reading(self.reader) as connection:
            return await self._readable(connection, principal, customer_id)

    async def update_customer(
        self, principal: Principal, customer_id: str, expected_version: int, changes: CustomerChanges
    ) -> Customer:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            current = await self._writable(session, principal, customer_id)
            check_version(expected_version, current.version)
            owner, org_path = current.owner_id, current.org_path
            if changes.owner_id is not None and changes.owner_id != current.owner_id:
                if not changes.owner_id.strip():
                    raise ValidationFailed("name the new owner (release puts a customer in the pool)", "owner_id")
                owner, org_path = await self._resolve_owner(
                    session, principal, changes.owner_id.strip(), "customers:update"
                )
            updated = revised(current, changes, owner, org_path, now)
            if updated.normalised_name != current.normalised_name or updated.credit_code != current.credit_code:
                self._block_duplicates(
                    await self._duplicates(session, updated.normalised_name, updated.credit_code, current.id)
                )
            if changes.custom_fields:
                values = await apply_values(
                    session, CUSTOMER_FIELDS, current.id, current.custom_fields, changes.custom_fields
                )
                updated = replace(updated, custom_fields=values)
            stored = await save_customer(session, current, updated)
            await self._emit_state(session, "updated", stored, principal)
            if owner != current.owner_id:
                await self._owner_changed(session, stored, principal, current.owner_id, "update")
            return stored

    async def list_customers(
        self,
        principal: Principal,
        *,
        page_size: int = 50,
        cursor: str = "",
        owner_id: str = "",
        tier: str = "",
        query: str = "",
        tag: str = "",
        industry: str = "",
        unit_id: str = "",
        updated_since: datetime | None = None,
        sort: str = "",
        custom_fields: Mapping[str, str] | None = None,
    ) -> tuple[list[Customer], str]:
        """Keyset-paged in the chosen order (newest first by default); only what the caller's
        scope shows."""
        principal.require("customers:read")
        if sort and sort not in LIST_ORDERS:
            raise ValidationFailed(f"sort must be one of {', '.join(LIST_ORDERS)}", "sort")
        try:
            wanted_tier = Tier(tier) if tier else None
        except ValueError:
            raise ValidationFailed(f"tier must be one of {', '.join(t.value for t in Tier)}", "tier") from None
        where = CustomerFilter(
            owner_id=owner_id,
            tier=wanted_tier,
            name_query=parse_query(query) if query.strip() else None,
            tag=normalise_tag(tag) if tag.strip() else "",
            industry=industry.strip(),
            unit_id=unit_id.strip(),
            updated_since=updated_since,
            custom_fields=custom_fields,
        )
        async with reading(self.reader) as connection:
            return await customers_page(
                connection,
                principal,
                where,
                sort=sort,
                page_size=page_size,
                cursor=cursor,
                search_candidates=SEARCH_CANDIDATES,
            )


def revised(
    current: Customer, changes: CustomerChanges, owner_id: str | None, org_path: str, now: datetime
) -> Customer:
    """The customer with `changes` applied (every field checked again) and owned by `owner_id`."""
    checked = make_customer(
        id=current.id,
        created_at=current.created_at,
        owner_id=owner_id,
        org_path=org_path,
        legal_name=current.legal_name if changes.legal_name is None else changes.legal_name,
        credit_code=current.credit_code if changes.credit_code is None else changes.credit_code,
        industry=current.industry if changes.industry is None else changes.industry,
        address=current.address if changes.address is None else _address(changes.address),
        tier=current.tier if changes.tier is None else changes.tier,
        tags=current.tags if changes.tags is None else changes.tags,
        source=current.source if changes.source is None else changes.source,
    )
    moved = owner_id != current.owner_id
    return replace(
        current,
        legal_name=checked.legal_name,
        normalised_name=checked.normalised_name,
        credit_code=checked.credit_code,
        industry=checked.industry,
        address=checked.address,
        tier=checked.tier,
        tags=checked.tags,
        source=checked.source,
        owner_id=owner_id,
        org_path=org_path,
        owner_unit_path=checked.owner_unit_path,
        previous_owner_id=current.owner_id if moved else current.previous_owner_id,
        assigned_at=now if moved else current.assigned_at,
        updated_at=now,
    )
