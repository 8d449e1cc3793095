"""The customer store: the one mapping between a `customers` row and the domain Customer
(`customer_to_row`; reading one back is `stores.customer_records`, re-exported here), loading in
the caller's scope, versioned saves (which keep the name-key index in step) and the batched
contacts loader."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import ScopeShape, scope_clause, scope_params, scope_shape
from salesgrid_common.custom_fields.definitions import FieldDefinition
from salesgrid_common.custom_fields.records import index_rows
from salesgrid_common.custom_fields.tables import custom_field_values
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.db import Reads
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.errors import AlreadyExists, Conflict, NotFound, PermissionDenied
from salesgrid_common.copy_rows import insert_rows
from salesgrid_customers.stores.name_keys import delete_name_keys, insert_name_keys, write_name_keys
from salesgrid_customers.domain.sharing import ShareRole
from salesgrid_customers.stores.shares import shared_with_caller
from salesgrid_customers.stores.customer_records import CUSTOMER_COLUMNS as CUSTOMER_COLUMNS
from salesgrid_customers.stores.customer_records import CUSTOMERS as CUSTOMERS
from salesgrid_customers.stores.customer_records import Row
from salesgrid_customers.stores.customer_records import customer_from_record as customer_from_record
from salesgrid_customers.stores.customer_records import customer_from_row as customer_from_row
from salesgrid_common.driver_rows import driver_rows

CUSTOMER_FIELDS = "customers"  # the custom-field entity of customers

_c = CUSTOMERS.c


def customer_to_row(customer: Customer) -> dict[str, Any]:
    """Every column of the customer's row (contacts are rows of their own)."""
    point = customer.address.point if customer.address else None
    return {
        "id": customer.id,
        "legal_name": customer.legal_name,
        "normalised_name": customer.normalised_name,
        "credit_code": customer.credit_code,
        "industry": customer.industry,
        "address_text": customer.address.text if customer.address else None,
        "latitude": point.latitude if point else None,
        "longitude": point.longitude if point else None,
        "tier": customer.tier.value,
        "tags": list(customer.tags),
        "source": customer.source,
        "owner_id": customer.owner_id,
        "org_path": customer.org_path,
        "previous_owner_id": customer.previous_owner_id,
        "released_at": customer.released_at,
        "assigned_at": customer.assigned_at,
        "active": customer.active,
        "version": customer.version,
        "created_by": customer.created_by,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at or customer.created_at,
        "custom_fields": dict(customer.custom_fields),
        "partner_channel": customer.partner.channel,
        "partner_tier": customer.partner.tier,
        "partner_contract_id": customer.partner.contract_id,
    }


def name_taken() -> AlreadyExists:
    return AlreadyExists("a customer with this normalised name was just created or renamed", "legal_name")


_INSERT = insert(CUSTOMERS)  # built once, bound at execution


async def insert_customer(session: AsyncSession, customer: Customer) -> None:
    """A new customer and its name keys, one statement each (no ORM unit of work: nothing reads
    the row back in this transaction); the unique index on active normalised names decides
    between concurrent creates."""
    try:
        await session.execute(_INSERT, customer_to_row(customer))
    except IntegrityError:
        raise name_taken() from None
    await insert_name_keys(session, ((customer.id, customer.normalised_name),))


async def insert_customers(
    session: AsyncSession, customers: Sequence[Customer], definitions: Sequence[FieldDefinition]
) -> None:
    """New customers, their name keys and their custom-field index (`definitions`: the customer
    fields), one statement each for the batch (an import's rows; the unique index on active
    normalised names refuses the batch if one was taken meanwhile)."""
    rows = [customer_to_row(customer) for customer in customers]
    await insert_rows(session, Row.__table__, rows)  # COPY on PostgreSQL
    await insert_name_keys(session, ((row["id"], row["normalised_name"]) for row in rows))
    if indexed := [
        entry
        for c in customers
        if c.custom_fields
        for entry in index_rows(CUSTOMER_FIELDS, c.id, definitions, c.custom_fields)
    ]:
        await session.execute(insert(custom_field_values), indexed)


CO_OWNERS = (ShareRole.CO_OWNER.value,)


@lru_cache(maxsize=64)  # scope shapes (a handful) x the role sets asked for (two)
def _load_statement(shape: ScopeShape, shared_roles: tuple[str, ...]) -> Select[Any]:
    """One active customer by id within a scope shape, built once per shape (auth.scope_clause)."""
    return select(*CUSTOMER_COLUMNS).where(
        _c.id == bindparam("customer_id"),
        _c.active,
        scope_clause(shape, _c.owner_id, _c.org_path, shared_with_caller(_c.id, shared_roles)),
    )


_BY_ID = select(*CUSTOMER_COLUMNS).where(_c.id == bindparam("customer_id"))
_ACTIVE_BY_ID = _BY_ID.where(_c.active)
_ACTIVE_ID = select(_c.id).where(_c.id == bindparam("customer_id"), _c.active)


async def load_customer(
    session: Reads, principal: Principal, customer_id: str, permission: str, shared_roles: tuple[str, ...] = ()
) -> Customer:
    """The active customer if it is in the caller's scope for `permission` (or shared with him, in
    any role or only in `shared_roles`); fails closed."""
    principal.require(permission)
    records = await driver_rows(
        session,
        _load_statement(scope_shape(principal, permission), shared_roles),
        {**scope_params(principal), "customer_id": customer_id},
    )
    if records:
        return customer_from_record(records[0])
    if await session.scalar(_ACTIVE_ID, {"customer_id": customer_id}) is None:
        survivor = await survivor_of(session, customer_id, writing=False)
        if survivor != customer_id:  # say where its records went
            raise NotFound(f"customer {customer_id} was merged into customer {survivor}", "id")
        raise NotFound(f"customer {customer_id} does not exist", "id")
    raise PermissionDenied(f"customer {customer_id} is outside your data scope ({permission})")


async def active_customer(session: AsyncSession, customer_id: str) -> Customer | None:
    """The active customer whatever the caller's scope (the pool is public)."""
    record = (await session.execute(_ACTIVE_BY_ID, {"customer_id": customer_id})).first()
    return None if record is None else customer_from_record(record)


async def customer_by_id(session: AsyncSession, customer_id: str) -> Customer | None:
    """The customer, active or not, whatever the caller's scope."""
    record = (await session.execute(_BY_ID, {"customer_id": customer_id})).first()
    return None if record is None else customer_from_record(record)


async def customers_by_id(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, Customer]:
    """The customers (active or not) of these ids, by id, in one query."""
    records = (await session.execute(select(*CUSTOMER_COLUMNS).where(_c.id.in_(set(customer_ids))))).all()
    return {record.id: customer_from_record(record) for record in records}


async def save_customer(session: AsyncSession, before: Customer, after: Customer) -> Customer:
    """Store `after` if the row is still at `before`'s version (a concurrent writer loses here);
    the stored customer, one version on."""
    if not await _update(session, before, after, Row.version == before.version):
        raise Conflict("customer was modified concurrently", "version")
    return _stored(before, after)


async def move_customer(
    session: AsyncSession, before: Customer, after: Customer, owner_id: str | None, *, same_assignment: bool = False
) -> Customer | None:
    """Store `after` while the row is still owned by `owner_id` (None: in the pool) and, with
    `same_assignment`, still assigned when `before` was (the pool's owner moves check the owner,
    not the version); the stored customer, or None when the row had moved on."""
    guard = Row.owner_id.is_(None) if owner_id is None else Row.owner_id == owner_id
    if same_assignment:
        guard = and_(guard, Row.assigned_at == before.assigned_at)
    if not await _update(session, before, after, guard):
        return None
    stored = await customer_by_id(session, before.id)  # other writers may have moved the version
    assert stored is not None
    return stored


async def _update(session: AsyncSession, before: Customer, after: Customer, guard: ColumnElement[bool]) -> bool:
    old, new = customer_to_row(before), customer_to_row(after)
    changed = {name: value for name, value in new.items() if value != old[name] and name != "version"}
    try:
        result = await session.execute(
            update(Row).where(Row.id == before.id, guard).values(**changed, version=Row.version + 1)
        )
    except IntegrityError:
        raise name_taken() from None
    if result.rowcount != 1:
        return False
    if not after.active and before.active:
        await delete_name_keys(session, before.id)
    elif after.normalised_name != before.normalised_name:
        await write_name_keys(session, after.id, after.normalised_name)
    return True


def _stored(before: Customer, after: Customer) -> Customer:
    return replace(after, version=before.version + 1)
