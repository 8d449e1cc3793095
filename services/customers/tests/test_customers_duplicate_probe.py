"""The duplicate check reads its candidates and their owners (the directory replica) in one
statement, on SQLite and PostgreSQL: a match owned by a user the replica knows names him and his
unit, one whose unit the replica lacks names him with no unit, one whose owner it does not know
yet and one in the public pool name nobody; blocking and warnings are classified as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, update

from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_dev.directory_seed import add_unit, add_user
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import principal
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.dedup import MatchReason, OwnerInfo
from salesgrid_customers.domain.errors import AlreadyExists
from salesgrid_customers.stores.duplicates import duplicate_candidates
from salesgrid_customers.usecases import CustomersUseCases

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
PERMS = {"customers:create": "own", "customers:read": "own"}


@pytest.fixture
async def engine_and_sessions(database_url: str) -> AsyncIterator[tuple[object, SessionFactory]]:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    yield engine, session_factory(engine)
    await engine.dispose()


async def test_matches_name_the_owners_the_replica_knows(engine_and_sessions: tuple[object, SessionFactory]) -> None:
    engine, sessions = engine_and_sessions
    async with sessions() as session, session.begin():
        await add_unit(session, "t1", "/c/t1/", name="华东一组")
        await add_user(session, "rep-a", "/c/t1/", name="王芳")
        await add_user(session, "rep-b", "/c/t2/", name="李雷")  # his unit t2 is not in the replica
    uc = CustomersUseCases(sessions, Outbox("customers"), lambda: NOW)
    made = {}
    for owner, name in (
        ("rep-a", "星河贸易有限公司"),
        ("rep-b", "星河贸易物流有限公司"),
        ("rep-x", "星河贸易商行有限公司"),  # not (yet) in the replica
        ("rep-a", "北京星河贸易有限公司"),  # put in the pool below
    ):
        made[name], _ = await uc.create_customer(principal(owner, "/c/t1/", "t1", PERMS), legal_name=name)
    async with sessions() as session, session.begin():
        pooled = made["北京星河贸易有限公司"].id
        await session.execute(update(models.Customer).where(models.Customer.id == pooled).values(owner_id=None))

    statements: list[str] = []
    sync_engine = engine.sync_engine  # type: ignore[attr-defined]
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - conn, cursor, statement, ...
    event.listen(sync_engine, "before_cursor_execute", listener)
    try:
        async with sessions() as session:
            candidates, owners = await duplicate_candidates(session, "星河贸易", None)
    finally:
        event.remove(sync_engine, "before_cursor_execute", listener)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert {c.customer_id: c.owner_id for c in candidates} == {
        made[name].id: made[name].owner_id if name != "北京星河贸易有限公司" else None for name in made
    }
    assert owners == {"rep-a": OwnerInfo("王芳", "t1", "华东一组"), "rep-b": OwnerInfo("李雷", "t2", "")}

    rep_c = principal("rep-c", "/c/t3/", "t3", PERMS)
    with pytest.raises(AlreadyExists) as refused:
        await uc.create_customer(rep_c, legal_name="星河贸易(上海)有限公司")
    assert "王芳 (华东一组)" in refused.value.message and refused.value.info["existing_owner_unit"] == "华东一组"
    report = await uc.check_duplicates(rep_c, "星河贸易")
    assert [(m.reason, m.customer_id, m.owner) for m in report.blocking] == [
        (MatchReason.SAME_NORMALISED_NAME, made["星河贸易有限公司"].id, OwnerInfo("王芳", "t1", "华东一组"))
    ]
    assert {m.customer_id: m.owner for m in report.warnings} == {
        made["星河贸易物流有限公司"].id: OwnerInfo("李雷", "t2", ""),
        made["星河贸易商行有限公司"].id: None,  # owner unknown to the replica
        pooled: None,  # in the pool
    }
    unknown = await uc.check_duplicates(rep_c, "星河贸易商行")
    assert [(m.owner_id, m.owner) for m in unknown.blocking] == [("rep-x", None)]
    with pytest.raises(AlreadyExists) as by_id:
        await uc.create_customer(rep_c, legal_name="星河贸易商行有限公司")
    assert "owned by rep-x" in by_id.value.message
