"""The hot reads (GetCustomer's load_customer and the list pages) run statements built once per
scope shape, with the caller's values bound at execution: one caller's values never carry over to
the next caller of the same shape, the scope is as strict as auth.scope_filter (own and shared,
team, subtree with LIKE metacharacters taken literally, all, none), inactive customers never show,
and the bound filters narrow. On a connection and in a session (db.reading picks one), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import create_engine, session_factory
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import principal
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.customer import Customer, PartnerProfile, Tier
from salesgrid_customers.domain.errors import NotFound, PermissionDenied
from salesgrid_customers.domain.sharing import Share, ShareRole
from salesgrid_customers.stores import shares
from salesgrid_customers.stores.customer_lists import CustomerFilter, customers_page, partners_page
from salesgrid_customers.stores.customers import CO_OWNERS, insert_customer, load_customer, save_customer

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def customer(customer_id: str, owner: str | None, org_path: str, **fields: Any) -> Customer:
    base = Customer(
        id=customer_id,
        legal_name=f"Customer {customer_id}",
        normalised_name=f"customer {customer_id}",
        created_at=NOW,
        owner_id=owner,
        owner_unit_path=tuple(p for p in org_path.split("/") if p),
        tier=Tier.POTENTIAL,
        org_path=org_path,
        created_by="mgr",
        updated_at=NOW,
    )
    return replace(base, **fields)


@pytest.fixture(params=["connection", "session"])
async def reads(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Any]:
    """Opens what the reads run on: a connection or a session."""
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        for stored in (
            customer("c-1", "rep-a", "/c/sz/", tier=Tier.KEY, industry="retail"),
            customer("c-2", "rep-b", "/c/sz/"),
            customer("c-3", "rep-c", "/c/bj/", partner=PartnerProfile("agent")),
            customer("c-4", "rep-d", "/c/s_/"),
            customer("c-5", "rep-e", "/c/sz/team/"),
            customer("c-6", "rep-a", "/c/sz/"),
            customer("c-7", None, "/c/sz/"),  # in the pool, released by the sz unit
        ):
            await insert_customer(session, stored)
        await shares.put_share(session, "c-3", Share("rep-a", ShareRole.COLLABORATOR), NOW)
        c6 = customer("c-6", "rep-a", "/c/sz/")
        await save_customer(session, c6, replace(c6, active=False))
        c5 = customer("c-5", "rep-e", "/c/sz/team/")
        await save_customer(session, c5, replace(c5, updated_at=NOW + timedelta(hours=2)))

    def opened() -> AbstractAsyncContextManager[Any]:
        return engine.connect() if request.param == "connection" else sessions()

    try:
        yield opened
    finally:
        await engine.dispose()


def reader(user: str, path: str, scope: str | None) -> Principal:
    return principal(user, path, "u", {"customers:read": scope, "customers:update": scope} if scope else {})


async def listed(reads: Any, caller: Principal, where: CustomerFilter = CustomerFilter(), **kw: Any) -> list[str]:
    async with reads() as db:
        page, _ = await customers_page(
            db,
            caller,
            where,
            sort=kw.get("sort", ""),
            page_size=kw.get("page_size", 50),
            cursor=kw.get("cursor", ""),
            search_candidates=10,
        )
        return [c.id for c in page]


async def test_each_caller_of_a_scope_shape_sees_only_his_scope(reads: Any) -> None:
    assert await listed(reads, reader("rep-a", "/c/sz/", "own")) == ["c-3", "c-1"]  # his own and the shared
    assert await listed(reads, reader("rep-b", "/c/sz/", "own")) == ["c-2"]  # the same statement, his values
    assert await listed(reads, reader("rep-z", "/c/sz/", "own")) == []
    assert await listed(reads, reader("mgr", "/c/sz/", "team")) == ["c-7", "c-2", "c-1"]
    assert await listed(reads, reader("mgr", "/c/bj/", "team")) == ["c-3"]
    assert await listed(reads, reader("mgr", "/c/sz/", "subtree")) == ["c-7", "c-5", "c-2", "c-1"]
    assert await listed(reads, reader("mgr", "/c/s_/", "subtree")) == ["c-4"]  # "_" is no wildcard
    assert await listed(reads, reader("boss", "/c/", "all")) == ["c-7", "c-5", "c-4", "c-3", "c-2", "c-1"]
    assert await listed(reads, reader("nobody", "/c/", None)) == []
    async with reads() as db:
        partners, _ = await partners_page(
            db, reader("rep-a", "/c/sz/", "own"), channel="", tier="", page_size=10, cursor=""
        )
        assert [c.id for c in partners] == ["c-3"]
        partners, _ = await partners_page(
            db, reader("rep-b", "/c/sz/", "own"), channel="agent", tier="", page_size=10, cursor=""
        )
        assert partners == []


async def test_one_customer_is_read_only_within_the_scope(reads: Any) -> None:
    async with reads() as db:
        rep_a, rep_b = reader("rep-a", "/c/sz/", "own"), reader("rep-b", "/c/sz/", "own")
        assert (await load_customer(db, rep_a, "c-3", "customers:read")).owner_id == "rep-c"  # shared
        with pytest.raises(PermissionDenied):
            await load_customer(db, rep_b, "c-3", "customers:read")
        with pytest.raises(PermissionDenied):  # a collaborator is no co-owner
            await load_customer(db, rep_a, "c-3", "customers:update", CO_OWNERS)
        with pytest.raises(PermissionDenied):
            await load_customer(db, reader("mgr", "/c/s_/", "subtree"), "c-1", "customers:read")
        loaded = await load_customer(db, reader("mgr", "/c/sz/", "subtree"), "c-5", "customers:read")
        assert (loaded.id, loaded.org_path, loaded.updated_at) == ("c-5", "/c/sz/team/", NOW + timedelta(hours=2))
        with pytest.raises(NotFound):  # deactivated
            await load_customer(db, rep_a, "c-6", "customers:read")


async def test_the_bound_filters_narrow_for_each_caller(reads: Any) -> None:
    boss = reader("boss", "/c/", "all")
    assert await listed(reads, boss, CustomerFilter(owner_id="rep-a")) == ["c-1"]
    assert await listed(reads, boss, CustomerFilter(owner_id="rep-b")) == ["c-2"]
    assert await listed(reads, boss, CustomerFilter(tier=Tier.KEY, industry="retail")) == ["c-1"]
    assert await listed(reads, boss, CustomerFilter(tier=Tier.KEY, industry="mining")) == []
    assert await listed(reads, boss, CustomerFilter(updated_since=NOW + timedelta(hours=1))) == ["c-5"]
    rep_a = reader("rep-a", "/c/sz/", "own")
    assert await listed(reads, rep_a, CustomerFilter(owner_id="rep-c")) == ["c-3"]  # shared with him
    assert await listed(reads, rep_a, CustomerFilter(owner_id="rep-b")) == []


@pytest.mark.parametrize("sort", ["", "name", "recently_updated"])
async def test_pages_of_two_follow_each_other(reads: Any, sort: str) -> None:
    boss = reader("boss", "/c/", "all")
    whole = await listed(reads, boss, sort=sort)
    seen: list[str] = []
    cursor = ""
    async with reads() as db:
        while True:
            page, cursor = await customers_page(
                db, boss, CustomerFilter(), sort=sort, page_size=2, cursor=cursor, search_candidates=10
            )
            seen += [c.id for c in page]
            if not cursor:
                break
    assert seen == whole and len(whole) == 6
