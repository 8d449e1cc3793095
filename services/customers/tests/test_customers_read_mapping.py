"""The hot reads' mapping: a Core row of CUSTOMER_COLUMNS (every column of `customers`) reads back
every field of the stored customer, by id and through the scoped load, on what the use cases read with (db.reading), on
SQLite and PostgreSQL; and the customer messages carry every field that has a value (written in
place, each message of a page as the single one)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from google.protobuf.json_format import MessageToDict
from test_customers_store import NOW, full_customer

from salesgrid_common.db import create_engine, create_reader, reading, session_factory
from salesgrid_common.protos import from_timestamp
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import principal
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.customer import Customer, PartnerProfile, Tier
from salesgrid_customers.messages import customer_pb, customers_pb
from salesgrid_customers.stores.customers import (
    CUSTOMER_COLUMNS,
    customer_by_id,
    customers_by_id,
    insert_customer,
    load_customer,
)


def bare_customer() -> Customer:
    """A customer with every optional field at its default."""
    return Customer(
        id="c-2",
        legal_name="Acme",
        normalised_name="acme",
        created_at=NOW,
        owner_id=None,
        owner_unit_path=("c",),
        org_path="/c/",
        created_by="mgr",
    )


def test_the_read_columns_are_every_column() -> None:
    assert [c.key for c in CUSTOMER_COLUMNS] == list(dict.fromkeys(c.key for c in CUSTOMER_COLUMNS))
    assert {c.key for c in CUSTOMER_COLUMNS} == set(models.Customer.__table__.columns.keys())


async def test_a_core_row_reads_back_every_field(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    reader = create_reader(database_url, engine)
    full, bare = full_customer(), bare_customer()
    try:
        async with session_factory(engine)() as session, session.begin():
            await insert_customer(session, full)
            await insert_customer(session, bare)
        async with reading(session_factory(reader)) as connection:
            assert await customer_by_id(connection, "c-1") == full
            assert await customer_by_id(connection, "c-2") == replace(bare, updated_at=NOW)  # stored on create
            assert await customers_by_id(connection, ["c-1", "c-404"]) == {"c-1": full}
            rep = principal("rep-a", "/c/sz/", "sz", {"customers:read": "own"})
            assert await load_customer(connection, rep, "c-1", "customers:read") == full
    finally:
        await reader.dispose()
        await engine.dispose()


def test_the_message_carries_every_field_with_a_value() -> None:
    full = full_customer()
    message = customer_pb(full)
    assert (message.id, message.legal_name, message.credit_code, message.industry) == (
        full.id,
        full.legal_name,
        full.credit_code,
        full.industry,
    )
    assert (message.address.text, message.address.latitude, message.address.longitude) == ("深圳市南山区", 22.5, 113.9)
    assert (message.tier, list(message.tags), message.source, message.owner_id) == (
        "key",
        ["vip", "fintech"],
        "referral",
        "rep-a",
    )
    assert (message.org_path, message.version, message.created_by) == ("/c/sz/", 3, "mgr")
    assert from_timestamp(message.created_at) == full.created_at
    assert from_timestamp(message.updated_at) == full.updated_at
    assert (message.partner_channel, message.partner_tier, message.partner_contract_id) == ("agent", "gold", "k-9")
    assert MessageToDict(message.custom_fields) == {"region_code": "SZ-01"}

    bare = customer_pb(replace(bare_customer(), address=None, partner=PartnerProfile()))
    assert not bare.HasField("address") and bare.owner_id == "" and bare.tier == Tier.POTENTIAL.value
    assert bare.HasField("custom_fields") and MessageToDict(bare.custom_fields) == {}  # present, empty
    assert from_timestamp(bare.updated_at) == NOW  # no update yet: its creation
    no_point = customer_pb(replace(full, address=replace(full.address, point=None)) if full.address else full)
    assert no_point.address.text and not no_point.address.HasField("latitude")

    page = customers_pb([full, bare_customer()], "next")
    assert list(page.customers) == [customer_pb(full), customer_pb(bare_customer())] and page.next_cursor == "next"
