"""The read path's cheaper conversions give what the ones they replaced gave:

- the hot statements' driver rows (salesgrid_common.driver_rows) hold SQLAlchemy's values, row for row, on
  SQLite and PostgreSQL, for every scope shape, order, bound filter and cursor of the list pages,
  the scoped load, the partners and the pool, and do run through the driver;
- customer_from_record builds the customer the former keyword-argument version built;
- write_customer writes the bytes the former field helper version wrote;
- SQLite's JSON text reads as json.loads reads it (salesgrid_common.json_values, tested there)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import Any

from test_customers_read_mapping import bare_customer
from test_customers_store import NOW, full_customer

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid_common import orgpaths
from salesgrid_common.auth.scope_filters import scope_params, scope_shape
from salesgrid_common.db import create_engine, create_reader, reading, session_factory
from salesgrid_common.paging import KEYSET_AFTER, KEYSET_AFTER_ID, KEYSET_LIMIT
from salesgrid_common.protos import set_timestamp
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import principal
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.customer import Address, Contact, Customer, GeoPoint, PartnerProfile, Tier
from salesgrid_customers.messages import customers_pb, write_customer
from salesgrid_customers.stores.customer_lists import _POOL, LIST_ORDERS, _listing, _partners
from salesgrid_customers.stores.customer_records import _KEYS, customer_from_record
from salesgrid_customers.stores.customers import CO_OWNERS, _load_statement, customer_to_row, insert_customer
from salesgrid_common.driver_rows import compiled_for, driver_rows


def variety() -> list[Customer]:
    """Customers covering every optional part: present, absent, partly there."""
    full, bare = full_customer(), bare_customer()
    return [
        full,
        bare,
        replace(bare, id="c-3", updated_at=None),
        replace(full, id="c-4", address=Address("北京市朝阳区", None), tags=(), custom_fields={}),
        replace(full, id="c-5", partner=PartnerProfile("distributor"), updated_at=full.created_at),
        replace(
            full,
            id="c-6",
            tier=Tier.NORMAL,
            custom_fields={"flag": True, "picks": ["a", "b"], "fee": {"amount": "12.50", "currency": "CNY"}},
            created_at=NOW + timedelta(microseconds=123456),
            address=Address("上海", GeoPoint(-31.25, 0.0)),
        ),
    ]


# --- the former conversions, kept here to compare against ------------------------------------


def _former_trusted(cls: type, **fields: Any) -> Any:
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


_former_unit_path = lru_cache(maxsize=64)(orgpaths.segments)


def former_customer_from_record(record: Sequence[Any], contacts: Sequence[Contact] = ()) -> Customer:
    values = dict(zip(_KEYS, record, strict=True))
    lat, lon = values["latitude"], values["longitude"]
    point = GeoPoint(lat, lon) if lat is not None and lon is not None else None
    return _former_trusted(
        Customer,
        id=values["id"],
        legal_name=values["legal_name"],
        normalised_name=values["normalised_name"],
        created_at=values["created_at"],
        owner_id=values["owner_id"],
        owner_unit_path=_former_unit_path(values["org_path"]),
        credit_code=values["credit_code"],
        industry=values["industry"],
        address=Address(values["address_text"], point) if values["address_text"] else None,
        tier={t.value: t for t in Tier}[values["tier"]],
        tags=tuple(values["tags"]),
        source=values["source"],
        contacts=tuple(contacts),
        version=values["version"],
        org_path=values["org_path"],
        created_by=values["created_by"],
        updated_at=values["updated_at"],
        active=values["active"],
        previous_owner_id=values["previous_owner_id"],
        assigned_at=values["assigned_at"],
        released_at=values["released_at"],
        partner=_former_trusted(
            PartnerProfile,
            channel=values["partner_channel"] or "",
            tier=values["partner_tier"] or "",
            contract_id=values["partner_contract_id"] or "",
        ),
        custom_fields=dict(values["custom_fields"] or {}),
    )


def former_write_customer(message: pb.Customer, customer: Customer) -> pb.Customer:
    message.id = customer.id
    message.legal_name = customer.legal_name
    message.tier = customer.tier.value
    message.tags.extend(customer.tags)
    message.org_path = customer.org_path
    message.version = customer.version
    message.created_by = customer.created_by
    if customer.credit_code:
        message.credit_code = customer.credit_code
    if customer.industry:
        message.industry = customer.industry
    if customer.address:
        point = customer.address.point
        address = message.address
        address.SetInParent()
        address.text = customer.address.text
        if point:
            address.latitude, address.longitude = point.latitude, point.longitude
    if customer.source:
        message.source = customer.source
    if customer.owner_id:
        message.owner_id = customer.owner_id
    set_timestamp(message.created_at, customer.created_at)
    set_timestamp(message.updated_at, customer.updated_at or customer.created_at)
    partner = customer.partner
    if partner.channel:
        message.partner_channel = partner.channel
    if partner.tier:
        message.partner_tier = partner.tier
    if partner.contract_id:
        message.partner_contract_id = partner.contract_id
    if customer.custom_fields:
        message.custom_fields.update(customer.custom_fields)
    else:
        message.custom_fields.SetInParent()
    return message


def stored_record(customer: Customer) -> list[Any]:
    row = customer_to_row(customer)
    row["updated_at"] = customer.updated_at  # the record as read, not as written
    return [row[key] for key in _KEYS]


def test_a_record_maps_to_the_customer_the_former_mapping_built() -> None:
    contact = Contact("k-1", "王芳", None, (), None, True, "c-1")
    for customer in variety():
        record = stored_record(customer)
        for contacts in ((), (contact,)):
            mapped, former = customer_from_record(record, contacts), former_customer_from_record(record, contacts)
            assert mapped == former
            assert vars(mapped) == vars(former) and [type(v) for v in vars(mapped).values()] == [
                type(v) for v in vars(former).values()
            ]


def test_messages_are_byte_for_byte_the_former_ones() -> None:
    customers = variety()
    for customer in customers:
        assert write_customer(pb.Customer(), customer).SerializeToString(deterministic=True) == former_write_customer(
            pb.Customer(), customer
        ).SerializeToString(deterministic=True)
    former = pb.ListCustomersResponse(next_cursor="next")
    for customer in customers:
        former_write_customer(former.customers.add(), customer)
    assert customers_pb(customers, "next").SerializeToString() == former.SerializeToString()


# --- driver rows against SQLAlchemy's, on both databases ---------------------------------------

CALLERS = [
    principal("rep-a", "/c/sz/", "sz", {"customers:read": "own"}),
    principal("mgr", "/c/sz/", "sz", {"customers:read": "subtree"}),
    principal("lead", "/c/sz/", "sz", {"customers:read": "team"}),
    principal("admin", "/c/", "c", {"customers:read": "all"}),
]
FILTERS = {
    (): {},
    ("filter_owner_id",): {"filter_owner_id": "rep-a"},
    ("filter_tier", "filter_updated_since"): {"filter_tier": "key", "filter_updated_since": NOW},
    ("filter_industry",): {"filter_industry": "banking"},
}


async def test_driver_rows_hold_sqlalchemys_values(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    reader = create_reader(database_url, engine)
    try:
        async with session_factory(engine)() as session, session.begin():
            for n, customer in enumerate(variety()):
                await insert_customer(session, replace(customer, normalised_name=f"{customer.normalised_name}{n}"))
        async with reading(session_factory(reader)) as reads:
            dialect = reads.sync_connection.dialect  # type: ignore[union-attr]
            compared = 0

            async def same(statement: Any, params: dict[str, Any], *, by_driver: bool | None = True) -> list[Any]:
                nonlocal compared
                if by_driver is not None:
                    assert (compiled_for(statement, dialect) is not None) is by_driver
                expected = [tuple(row) for row in (await reads.execute(statement, params)).all()]
                assert [tuple(row) for row in await driver_rows(reads, statement, params)] == expected
                compared += len(expected)
                return expected

            for caller in CALLERS:
                shape = scope_shape(caller, "customers:read")
                # GetCustomer's load runs through the driver; the co-owners' load (writes' checks)
                # has an expanding IN in most shapes: through SQLAlchemy; the same values either way
                for roles in ((), CO_OWNERS):
                    for customer_id in ("c-1", "c-2", "c-6", "c-404"):
                        params = {**scope_params(caller), "customer_id": customer_id}
                        await same(_load_statement(shape, roles), params, by_driver=True if not roles else None)
                for filters, values in FILTERS.items():
                    for sort in LIST_ORDERS:
                        statements = _listing(shape, filters, sort)
                        params = {**scope_params(caller), **values, KEYSET_LIMIT: 3}
                        first = await same(statements.first, params)
                        if first:
                            last = first[-1]
                            after = {KEYSET_AFTER: last[statements.id_position]}
                            if statements.sort_position is not None:
                                after = {
                                    KEYSET_AFTER: last[statements.sort_position],
                                    KEYSET_AFTER_ID: last[statements.id_position],
                                }
                            await same(statements.after, {**params, **after})
                for channel, tier in ((False, False), (True, True)):
                    params = {**scope_params(caller), "partner_channel": "agent", "partner_tier": "gold"}
                    await same(_partners(shape, channel, tier).first, {**params, KEYSET_LIMIT: 10})
            await same(_POOL.first, {KEYSET_LIMIT: 10})
            assert compared > 50
    finally:
        await reader.dispose()
        await engine.dispose()
