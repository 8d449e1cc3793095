"""Statements of a write transaction run on the driver connection (salesgrid_common.driver_writes)
write exactly what SQLAlchemy's execute writes, on SQLite and PostgreSQL (where they are
SQLAlchemy's):

- every statement shape the services use (a plain INSERT, INSERT .. ON CONFLICT DO UPDATE ..
  RETURNING, INSERT .. RETURNING of converted columns, UPDATE .. RETURNING, DELETE, a SELECT)
  stores the same values, byte for byte as the database holds them (datetimes, bytes, NULLs,
  enums, JSON, dates, booleans, floats, decimals) and returns SQLAlchemy's values;
- on SQLite's writer they do run on the driver, with every cursor closed before returning;
- they run through SQLAlchemy when they must: PostgreSQL, no idle connection to begin with, the
  write lock held by another transaction, Python-side defaults to apply, pending ORM changes,
  listeners on the engine's statements;
- a statement SQLite refuses raises SQLAlchemy's IntegrityError and the transaction rolls back
  as a whole, releasing the write lock;
- an outbox record (Outbox.record: aggregate version and outbox row) commits and rolls back with
  the transaction around it."""

from __future__ import annotations

import asyncio
import enum
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, NoResultFound, PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import DeclarativeBase

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common import sqlite_loop
from salesgrid_common.db import (
    DecimalText,
    SessionFactory,
    UtcDateTime,
    conflict_insert,
    create_engine,
    session_factory,
)
from salesgrid_common.driver_statements import compiled_with, driver_rows
from salesgrid_common.driver_writes import driver_execute, driver_returning, driver_scalar_one
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.tables import aggregate_versions, event_metadata, outbox

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"
    DEEP_BLUE = "deep blue"


metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("later", UtcDateTime(), nullable=True),
    Column("day", Date, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("colour", Enum(Colour), nullable=True),
    Column("doc", JSON, nullable=True),
    Column("flag", Boolean, nullable=True),
    Column("ratio", Float, nullable=True),
    Column("amount", DecimalText(), nullable=True),
    Column("count", Integer, nullable=False, default=7),
)


class Base(DeclarativeBase):
    metadata = metadata


class Thing(Base):
    __table__ = things


def values(n: int, **changes: Any) -> dict[str, Any]:
    """Every column given (none left to a Python-side default), the optional ones full or empty."""
    full = n % 2 == 0
    row = {
        "id": f"t-{n}",
        "name": f"名前 {n}",
        "at": NOW + timedelta(microseconds=n),
        "later": NOW + timedelta(days=n) if full else None,
        "day": date(2026, 1, 1 + n) if full else None,
        "blob": bytes([0, 255, n, 10]) if full else None,
        "colour": Colour.DEEP_BLUE if full else None,
        "doc": {"tags": ["a", "ü"], "nested": {"x": True, "n": None}} if full else None,
        "flag": full if n % 3 else None,
        "ratio": 0.1 * n if full else None,
        "amount": Decimal("12.50") if full else None,
        "count": n,
    }
    return {**row, **changes}


_INSERT = insert(things)
_UPDATE = (
    update(things)
    .where(things.c.id == bindparam("key"))
    .values(later=bindparam("new_later"), doc=bindparam("new_doc"), count=things.c.count + 1)
    .returning(things.c.count, things.c.later, things.c.doc, things.c.colour, things.c.blob)
)
_BUMP = update(things).where(things.c.id == bindparam("key")).values(count=things.c.count + 1)
_DELETE = delete(things).where(things.c.id == bindparam("key"))
_SELECT = select(things.c.name, things.c.at, things.c.colour, things.c.doc).where(things.c.id == bindparam("key"))


def _returning_insert(dialect: str) -> Any:
    return insert(things).returning(
        things.c.id, things.c.at, things.c.day, things.c.colour, things.c.doc, things.c.flag
    )


def _increment(dialect: str) -> Any:
    statement = conflict_insert(dialect)(aggregate_versions)
    return statement.on_conflict_do_update(
        index_elements=["aggregate_id"], set_={"version": aggregate_versions.c.version + 1}
    ).returning(aggregate_versions.c.version)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(event_metadata.create_all)
    yield engine
    await engine.dispose()


def through_sqlalchemy(session: AsyncSession) -> list[Any]:
    """Records each statement the session runs through SQLAlchemy (session.execute)."""
    seen: list[Any] = []
    execute = session.execute

    async def counting(statement: Any, params: Any = None, **kw: Any) -> Any:
        seen.append(statement)
        return await execute(statement, params, **kw)

    session.execute = counting  # type: ignore[method-assign]
    return seen


async def stored(engine: AsyncEngine, table: Table) -> list[tuple[Any, ...]]:
    """The table's rows as the database holds them (SQLite's text, bytes and numbers as stored),
    by id."""
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.exec_driver_sql(f"SELECT * FROM {table.name} ORDER BY 1")).all()]


def sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def warm(sessions: SessionFactory) -> None:
    """An idle connection in the pool: a writer's session can then begin without waiting."""
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT 1"))


async def test_driver_statements_store_and_return_what_sqlalchemy_does(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await warm(sessions)
    by: dict[str, list[Any]] = {}
    answers: dict[str, list[Any]] = {}
    for path in ("sqlalchemy", "driver"):
        async with sessions() as session, session.begin():
            seen = through_sqlalchemy(session)
            dialect = session.get_bind().dialect.name
            got: list[Any] = []
            for n in range(6):
                if path == "sqlalchemy":
                    await session.execute(_INSERT, values(n))
                    got.append((await session.execute(_returning_insert(dialect), values(n + 10))).all())
                    got.append((await session.execute(_increment(dialect), {"aggregate_id": "a", "version": 1})).all())
                    got.append(
                        (await session.execute(_UPDATE, {"key": f"t-{n}", "new_later": NOW, "new_doc": [n]})).all()
                    )
                    got.append((await session.execute(_SELECT, {"key": f"t-{n + 10}"})).all())
                    await session.execute(_DELETE, {"key": f"t-{n + 10}" if n % 2 else "none"})
                else:
                    await driver_execute(session, _INSERT, values(n))
                    got.append(await driver_returning(session, _returning_insert(dialect), values(n + 10)))
                    got.append(
                        await driver_returning(session, _increment(dialect), {"aggregate_id": "a", "version": 1})
                    )
                    got.append(
                        await driver_returning(session, _UPDATE, {"key": f"t-{n}", "new_later": NOW, "new_doc": [n]})
                    )
                    got.append(await driver_rows(session, _SELECT, {"key": f"t-{n + 10}"}))
                    await driver_execute(session, _DELETE, {"key": f"t-{n + 10}" if n % 2 else "none"})
            answers[path] = [[tuple(row) for row in rows] for rows in got]
            # SQLite's writer runs them on the driver; PostgreSQL through SQLAlchemy
            assert len(seen) == (36 if path == "sqlalchemy" or not sqlite(engine) else 0)
        by[path] = [await stored(engine, things), await stored(engine, aggregate_versions)]
        async with sessions() as session, session.begin():
            await session.execute(delete(things))
            await session.execute(delete(aggregate_versions))
    assert answers["driver"] == answers["sqlalchemy"]
    assert by["driver"] == by["sqlalchemy"]
    rows = by["driver"][0]
    assert len(rows) == 9 and rows[0][0] == "t-0" and any(None in row for row in rows)
    assert [answers["driver"][4 * n + 1] for n in range(6)] == [[(n + 1,)] for n in range(6)]  # one version up each
    returned = answers["driver"][0][0]
    assert returned[1] == NOW + timedelta(microseconds=10) and returned[3] is Colour.DEEP_BLUE
    assert returned[2] == date(2026, 1, 11) and returned[4] == {"tags": ["a", "ü"], "nested": {"x": True, "n": None}}


async def test_driver_statements_run_on_the_driver_and_close_every_cursor(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not sqlite(engine):
        pytest.skip("SQLite's driver path")
    ran: list[tuple[sqlite_loop.LoopCursor, str]] = []
    execute = sqlite_loop.LoopCursor.execute

    def recording(self: sqlite_loop.LoopCursor, sql: str, parameters: Any = ()) -> sqlite_loop.LoopCursor:
        ran.append((self, sql))
        return execute(self, sql, parameters)

    sessions = session_factory(engine)
    await warm(sessions)
    monkeypatch.setattr(sqlite_loop.LoopCursor, "execute", recording)
    async with sessions() as session, session.begin():
        seen = through_sqlalchemy(session)
        # the first statement begins the transaction (BEGIN IMMEDIATE) itself: an idle connection
        await driver_execute(session, _INSERT, values(1))
        assert await driver_scalar_one(session, _increment("sqlite"), {"aggregate_id": "a", "version": 1}) == 1
        assert await driver_scalar_one(session, _increment("sqlite"), {"aggregate_id": "a", "version": 1}) == 2
        assert len(await driver_returning(session, _returning_insert("sqlite"), values(2))) == 1
        with pytest.raises(NoResultFound):
            await driver_scalar_one(session, _UPDATE, {"key": "none", "new_later": None, "new_doc": None})
        assert seen == []
    assert [sql.split()[0] for _, sql in ran] == ["BEGIN", "INSERT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    for cursor, sql in ran[1:]:  # a closed cursor refuses; an open one (a statement left active) would answer
        with pytest.raises(sqlite3.ProgrammingError, match="closed cursor"):
            cursor.fetchone()
    assert len(await stored(engine, things)) == 2


async def test_they_go_through_sqlalchemy_when_they_must(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await engine.dispose()  # no idle connection: beginning could wait
    async with sessions() as session, session.begin():
        seen = through_sqlalchemy(session)
        await driver_execute(session, _INSERT, values(1))
        assert len(seen) == 1
        # a Python-side default to apply (count): SQLAlchemy's, which computes it
        await driver_execute(session, _INSERT, {k: v for k, v in values(2).items() if k != "count"})
        assert len(seen) == 2
        assert compiled_with(_INSERT, session.get_bind().dialect, ("id", "name", "at")) is None
        # pending ORM changes: SQLAlchemy's execute flushes them first
        session.add(Thing(**values(3)))
        await driver_execute(session, _BUMP, {"key": "t-3"})
        assert len(seen) == 3
        # someone listens to the engine's statements: they see every one
        heard: list[str] = []

        def listen(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            heard.append(sql)

        event.listen(engine.sync_engine, "before_cursor_execute", listen)
        try:
            await driver_execute(session, _DELETE, {"key": "t-1"})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listen)
        assert len(seen) == 4 and len(heard) == 1 and heard[0].startswith("DELETE FROM things")
        await driver_execute(session, _DELETE, {"key": "none"})
        # on SQLite the transaction now holds its connection: the driver's; PostgreSQL: SQLAlchemy's
        assert len(seen) == (4 if sqlite(engine) else 5)
    async with sessions() as session:
        assert (await session.execute(select(things.c.id, things.c.count).order_by(things.c.id))).all() == [
            ("t-2", 7),
            ("t-3", 4),
        ]


async def test_a_writer_waiting_for_the_lock_goes_through_the_bridge(engine: AsyncEngine) -> None:
    if not sqlite(engine):
        pytest.skip("SQLite's write lock")
    sessions = session_factory(engine)
    await warm(sessions)
    await warm(sessions)
    async with sessions() as holder:
        await holder.begin()
        await driver_execute(holder, _INSERT, values(1))  # holds the write lock

        async def second() -> list[Any]:
            async with sessions() as session, session.begin():
                seen = through_sqlalchemy(session)
                await driver_execute(session, _INSERT, values(2))
                return seen

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.05)
        assert not waiting.done()  # BEGIN IMMEDIATE raised WouldWait: the bridge waits for the lock
        await holder.commit()
    assert len(await asyncio.wait_for(waiting, 5)) == 1
    assert [row[0] for row in await stored(engine, things)] == ["t-1", "t-2"]


async def test_a_refused_statement_raises_sqlalchemys_error_and_rolls_back_with_the_transaction(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    await warm(sessions)
    async with sessions() as session, session.begin():
        await driver_execute(session, _INSERT, values(1))
    for duplicate in (values(2, name="名前 1"), values(1)):  # a unique name, the primary key
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                seen = through_sqlalchemy(session)
                await driver_execute(session, _INSERT, values(3))
                await driver_scalar_one(session, _increment(engine.dialect.name), {"aggregate_id": "b", "version": 1})
                try:
                    await driver_execute(session, _INSERT, duplicate)
                finally:
                    assert len(seen) == (0 if sqlite(engine) else 3)  # SQLite: the driver's error
    # nothing of those transactions stayed; the lock is free: the next write begins at once
    assert [row[0] for row in await stored(engine, things)] == ["t-1"]
    assert await stored(engine, aggregate_versions) == []
    async with asyncio.timeout(1), sessions() as session, session.begin():
        await driver_execute(session, _INSERT, values(4))
    assert len(await stored(engine, things)) == 2


async def test_an_outbox_record_commits_and_rolls_back_with_its_transaction(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await warm(sessions)
    box = Outbox("tests")
    meta = EventMeta(aggregate_id="agg-1", actor_id="u-1", org_path="/c/")

    async def record(session: AsyncSession) -> str:
        await driver_execute(session, _INSERT, values(1))
        payload = Envelope(type="payload")
        return await box.record(session, "salesgrid.tests.thing.made", payload, meta, NOW)

    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            seen = through_sqlalchemy(session)
            await record(session)
            assert len(seen) == (0 if sqlite(engine) else 3)  # the row, the version, the outbox row
            raise RuntimeError("the use case fails after recording its event")
    assert await stored(engine, outbox) == [] and await stored(engine, aggregate_versions) == []
    assert await stored(engine, things) == []
    async with sessions() as session, session.begin():
        event_id = await record(session)
    async with sessions() as session:
        row = (await session.execute(select(outbox))).one()
    envelope = Envelope.FromString(row.envelope)
    assert (row.event_id, row.created_at, row.attempts, row.published_at) == (event_id, NOW, 0, None)
    assert (envelope.event_id, envelope.aggregate_version, envelope.aggregate_id) == (event_id, 1, "agg-1")
    assert await stored(engine, aggregate_versions) == [("agg-1", 1)]


def test_only_statements_compiled_exactly_run_on_the_driver() -> None:
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    every = tuple(values(1))
    assert compiled_with(_INSERT, dialect, every) is not None
    assert compiled_with(_INSERT, dialect, tuple(k for k in every if k != "count")) is None  # a default
    assert compiled_with(insert(Thing), dialect, every) is None  # the ORM's own insert
    assert (
        compiled_with(delete(things).where(things.c.id.in_(bindparam("ids", expanding=True))), dialect, ("ids",))
        is None
    )
    assert compiled_with(update(things).values(count=1), dialect, ()) is not None
    stamped = Table(
        "stamped", MetaData(), Column("id", String, primary_key=True), Column("at", UtcDateTime, onupdate=lambda: NOW)
    )
    assert compiled_with(update(stamped).values(id="x"), dialect, ()) is None  # an onupdate to apply


async def test_a_session_whose_flush_failed_refuses_as_sqlalchemy_does(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    await warm(sessions)
    async with sessions() as session:
        await session.begin()
        await driver_execute(session, _INSERT, values(1))
        session.add(Thing(**values(2, name="名前 1")))  # the name is taken: the flush fails
        with pytest.raises(IntegrityError):
            await session.flush()
        with pytest.raises(PendingRollbackError):
            await driver_execute(session, _INSERT, values(3))
    assert await stored(engine, things) == []
