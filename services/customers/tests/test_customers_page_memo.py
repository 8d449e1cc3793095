"""The page memo (stores.customer_lists, messages.customers_pb): on SQLite a page read again gives
the same customers as a page read afresh, as the same shared objects, and the same replies; a
stored row changed in any column (whether or not its version moved) is read afresh; PostgreSQL's
pages are not remembered."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import update
from test_customers_read_conversions import variety

from salesgrid_common.db import SessionFactory, reading
from salesgrid_dev.testing import principal
from salesgrid_customers.domain.customer import Customer, SharedCustomers
from salesgrid_customers.messages import customers_pb
from salesgrid_customers.stores import customer_lists
from salesgrid_customers.stores.customer_lists import (
    CUSTOMERS,
    CustomerFilter,
    customers_page,
    partners_page,
    pool_page,
)
from salesgrid_customers.stores.customers import insert_customers

ADMIN = principal("admin", "/c/", "c", {"customers:read": "all"})


def customers() -> list[Customer]:
    """Every optional part present, absent or partly there (test_customers_read_conversions), each
    under a name of its own (an active customer's name is unique)."""
    return [
        replace(c, legal_name=f"{c.legal_name}{n}", normalised_name=f"{c.normalised_name}{n}")
        for n, c in enumerate(variety())
    ]


async def page(sessions: SessionFactory, sort: str = "") -> tuple[list, str]:  # type: ignore[type-arg]
    async with reading(sessions) as reads:
        return await customers_page(
            reads, ADMIN, CustomerFilter(), sort=sort, page_size=4, cursor="", search_candidates=100
        )


async def fresh_page(sessions: SessionFactory, monkeypatch, sort: str = "") -> tuple[list, str]:  # type: ignore[no-untyped-def,type-arg]
    with monkeypatch.context() as patched:
        patched.setattr(customer_lists, "_remembers", lambda session: False)
        return await page(sessions, sort)


def is_sqlite(sessions: SessionFactory) -> bool:
    return sessions.kw["bind"].dialect.name == "sqlite"


async def test_a_page_read_again_is_the_same_customers_objects_and_bytes(sessions: SessionFactory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with sessions() as session, session.begin():
        await insert_customers(session, customers(), [])
    for sort in customer_lists.LIST_ORDERS:
        first, first_cursor = await page(sessions, sort)
        again, again_cursor = await page(sessions, sort)
        fresh, fresh_cursor = await fresh_page(sessions, monkeypatch, sort)
        assert first == again == fresh and len(fresh) == 4
        assert first_cursor == again_cursor == fresh_cursor != ""
        assert not isinstance(fresh, SharedCustomers)
        written = customers_pb(fresh, fresh_cursor)
        assert customers_pb(first, first_cursor) == written  # written, then remembered
        assert customers_pb(again, again_cursor) == written  # merged from the memo
        parsed = type(written).FromString(customers_pb(again, again_cursor).SerializeToString())
        assert parsed == written and all(c.HasField("custom_fields") for c in parsed.customers)
        if is_sqlite(sessions):
            assert isinstance(first, SharedCustomers)
            assert all(a is b for a, b in zip(first, again, strict=True))
        else:  # a PostgreSQL record holds decoded JSON: nothing to key a memo by
            assert not isinstance(first, SharedCustomers)
            assert all(a is not b for a, b in zip(first, again, strict=True))


async def test_a_changed_row_is_read_afresh_even_when_its_version_stayed(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await insert_customers(session, customers(), [])
    before, _ = await page(sessions)
    changed = before[1]
    async with sessions() as session, session.begin():  # an org move rewrites paths without a new version
        await session.execute(
            update(CUSTOMERS).where(CUSTOMERS.c.id == changed.id).values(org_path="/c/moved/", custom_fields={"k": 1})
        )
    after, _ = await page(sessions)
    assert [c.id for c in after] == [c.id for c in before]
    assert after[1] == replace(changed, org_path="/c/moved/", owner_unit_path=("c", "moved"), custom_fields={"k": 1})
    assert after[1].version == changed.version
    reply = customers_pb(after, "").customers
    assert (reply[1].org_path, dict(reply[1].custom_fields)) == ("/c/moved/", {"k": 1})
    if is_sqlite(sessions):
        assert after[1] is not changed
        assert all(after[i] is before[i] for i in (0, 2, 3))


async def test_partners_and_pool_pages_are_remembered_on_sqlite_only(sessions: SessionFactory) -> None:
    stored = customers()
    async with sessions() as session, session.begin():
        await insert_customers(session, stored, [])
    async with reading(sessions) as reads:
        partners, _ = await partners_page(reads, ADMIN, channel="", tier="", page_size=10, cursor="")
        pool, _ = await pool_page(reads, 10, "")
    assert [c.id for c in partners] == sorted((c.id for c in stored if c.partner.channel), reverse=True)
    assert {c.id for c in pool} == {c.id for c in stored if c.owner_id is None}
    assert partners and pool
    sqlite = is_sqlite(sessions)
    assert isinstance(partners, SharedCustomers) == sqlite and isinstance(pool, SharedCustomers) == sqlite
