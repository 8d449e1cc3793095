"""A customer create's writes on SQLite's writer run on the driver connection
(salesgrid_common.driver_writes): the customer row, its name keys, the aggregate version and the
outbox row. On SQLite and PostgreSQL:

- the rows written are, column for column as the database holds them (JSON, floats, booleans,
  datetimes, NULLs), the rows SQLAlchemy's execute writes (the same code with a listener on the
  engine's statements, which sends them through SQLAlchemy) for customers covering every
  optional part;
- on SQLite none of a create's inserts goes through SQLAlchemy;
- a name taken by an active customer is refused as before (the unique index's IntegrityError,
  raised from the driver: AlreadyExists) and leaves nothing of the refused create."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from test_customers_read_conversions import variety

from salesgrid_common.db import SessionFactory
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.customer_events import customer_state
from salesgrid_customers.domain.errors import AlreadyExists
from salesgrid_customers.stores.customers import insert_customer

TABLES = ("customers", "customer_name_keys", "aggregate_versions")


async def stored(sessions: SessionFactory) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a create writes, as the database holds them, in a fixed order."""
    async with sessions() as session:
        return {
            table: sorted((tuple(row) for row in await session.execute(text(f"SELECT * FROM {table}"))), key=repr)
            for table in TABLES
        }


async def create_all(sessions: SessionFactory) -> list[Any]:
    """Each customer of `variety` inserted with its created event, one transaction each; the
    statements that went through SQLAlchemy's execute."""
    seen: list[Any] = []
    box = Outbox("customers")
    for n, customer in enumerate(variety()):
        customer = replace(customer, normalised_name=f"{customer.normalised_name}{n}")
        async with sessions() as session, session.begin():
            execute = session.execute

            async def counting(statement: Any, params: Any = None, **kw: Any) -> Any:
                seen.append(statement)
                return await execute(statement, params, **kw)

            session.execute = counting  # type: ignore[method-assign]
            await insert_customer(session, customer)
            meta = EventMeta(aggregate_id=customer.id, actor_id="rep-a", org_path=customer.org_path)
            await box.record(
                session, "salesgrid.customers.customer.created", customer_state(customer), meta, customer.created_at
            )
    return seen


async def test_the_driver_writes_the_rows_sqlalchemy_writes(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    engine: AsyncEngine = sessions.kw["bind"]
    heard: list[str] = []

    def listen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        heard.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", listen)  # every statement through SQLAlchemy
    try:
        through_sqlalchemy = await create_all(sessions)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)
    assert len(through_sqlalchemy) >= 4 * len(variety()) and len(heard) >= len(through_sqlalchemy)
    expected = await stored(sessions)
    async with sessions() as session, session.begin():
        for table in ("customer_name_keys", "customers", "aggregate_versions", "outbox"):
            await session.execute(text(f"DELETE FROM {table}"))
    through_driver = await create_all(sessions)
    if engine.dialect.name == "sqlite":
        assert through_driver == []
    assert await stored(sessions) == expected
    assert len(expected["customers"]) == len(variety()) and len(expected["customer_name_keys"]) > len(variety())


async def test_a_name_taken_is_refused_and_leaves_nothing(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    first, second = variety()[:2]
    async with sessions() as session, session.begin():
        await insert_customer(session, first)
    before = await stored(sessions)
    with pytest.raises(AlreadyExists):
        async with sessions() as session, session.begin():
            await insert_customer(session, replace(second, normalised_name=first.normalised_name + "x"))
            await insert_customer(session, replace(second, id="c-9", normalised_name=first.normalised_name))
    assert await stored(sessions) == before
