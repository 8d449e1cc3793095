"""Sessions on SQLite run the ORM directly on the loop (sqlite_sessions) and fall back to
SQLAlchemy's greenlet bridge whenever running directly would have to wait: a reader's from its
first statement given an idle connection, a writer's once its transaction holds the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util.concurrency import greenlet_spawn

from salesgrid_common.db import create_engine, create_reader, reading, session_factory
from salesgrid_common import sqlite_loop
from salesgrid_common.sqlite_sessions import LoopReadSession, LoopWriteSession

metadata = MetaData()
items = Table("items", metadata, Column("id", String, primary_key=True), Column("n", Integer))


class Base(DeclarativeBase):
    metadata = metadata


class Item(Base):
    __table__ = items


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine, Path]]:
    path = tmp_path / "reads.db"
    url = f"sqlite+aiosqlite:///{path}"
    writer = create_engine(url)
    reader = create_reader(url, writer)
    async with writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(items), [{"id": f"i{n}", "n": n} for n in range(10)])
    yield writer, reader, path
    await reader.dispose()
    await writer.dispose()


async def test_reader_sessions_read_directly_and_answer_as_the_bridge_does(engines) -> None:  # type: ignore[no-untyped-def]
    writer, reader, _ = engines
    readers, writers = session_factory(reader), session_factory(writer)
    async with writers() as session:
        expected = (
            (await session.get(Item, "i3")).n,  # type: ignore[union-attr]
            await session.scalar(select(items.c.n).where(items.c.id == "i4")),
            list(await session.scalars(select(items.c.n).order_by(items.c.n))),
            (await session.execute(select(items.c.id, items.c.n).where(items.c.n > 7))).all(),
        )
    for attempt in range(2):  # the first session makes the connection (bridge); the second reuses it (direct)
        async with readers() as session:
            assert isinstance(session, LoopReadSession) and session._direct() == (attempt == 1)
            got = (
                (await session.get(Item, "i3")).n,  # type: ignore[union-attr]
                await session.scalar(select(items.c.n).where(items.c.id == "i4")),
                list(await session.scalars(select(items.c.n).order_by(items.c.n))),
                (await session.execute(select(items.c.id, items.c.n).where(items.c.n > 7))).all(),
            )
        assert got == expected
    assert reader.sync_engine.pool.checkedout() == 0  # closing returned the connection
    assert not isinstance(writers(), LoopReadSession)


async def test_a_read_transaction_sees_one_snapshot_across_direct_statements(engines) -> None:  # type: ignore[no-untyped-def]
    writer, reader, _ = engines
    async with session_factory(reader)() as warm:  # leaves an idle connection: the next session reads directly
        await warm.scalar(text("SELECT 1"))
    async with session_factory(reader)() as session:
        assert session._direct()  # type: ignore[attr-defined]
        before = await session.scalar(select(items.c.n).where(items.c.id == "i1"))
        async with writer.begin() as conn:
            await conn.execute(items.update().where(items.c.id == "i1").values(n=100))
        assert await session.scalar(select(items.c.n).where(items.c.id == "i1")) == before == 1
    async with session_factory(reader)() as session:
        assert await session.scalar(select(items.c.n).where(items.c.id == "i1")) == 100


async def test_a_write_through_a_reader_session_still_fails_loudly(engines) -> None:  # type: ignore[no-untyped-def]
    _, reader, _ = engines
    for _ in range(2):
        async with session_factory(reader)() as session:
            with pytest.raises(OperationalError, match="readonly"):
                await session.execute(items.update().values(n=0))


def test_outside_the_bridge_a_busy_database_raises_would_wait_before_running_anything(tmp_path: Path) -> None:
    """The driver's side of the fallback: a direct call never waits (nor fails) on "busy"; it
    raises WouldWait, and the session sends the statement again through the bridge."""
    path = tmp_path / "journal.db"  # a rollback-journal file: another connection can lock it outright
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.execute("INSERT INTO t VALUES (7)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    conn = sqlite_loop.dialect.import_dbapi().connect(str(path))
    with pytest.raises(sqlite_loop.WouldWait):
        conn.cursor().execute("SELECT n FROM t")
    holder.execute("COMMIT")
    assert conn.cursor().execute("SELECT n FROM t").fetchall() == [(7,)]
    for each in (conn, holder, setup):
        each.close()


async def test_through_the_bridge_a_busy_database_is_waited_for_without_blocking_the_loop(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE t (n INTEGER)")
    setup.execute("INSERT INTO t VALUES (7)")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    conn = sqlite_loop.dialect.import_dbapi().connect(str(path))
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        holder.execute("COMMIT")

    ticker, releaser = asyncio.create_task(tick()), asyncio.create_task(release_later())
    started = time.monotonic()
    rows = await greenlet_spawn(lambda: conn.cursor().execute("SELECT n FROM t").fetchall())
    waited = time.monotonic() - started
    ticker.cancel()
    await releaser
    assert rows == [(7,)]
    assert waited >= 0.25  # it waited for the lock rather than failing
    assert ticks >= 10  # and the loop kept running meanwhile
    for each in (conn, holder, setup):
        each.close()


@pytest.mark.parametrize("through", ["session", "db.reading"])
async def test_with_every_connection_taken_a_read_waits_for_one_instead_of_failing(engines, through: str) -> None:  # type: ignore[no-untyped-def]
    _, reader, _ = engines
    pool = reader.sync_engine.pool
    capacity = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    holders = [session_factory(reader)() for _ in range(capacity)]
    for session in holders:
        await session.scalar(text("SELECT 1"))
    assert pool.checkedout() == capacity and pool.checkedin() == 0

    async def read() -> int | None:
        readers = session_factory(reader)
        async with readers() if through == "session" else reading(readers) as session:
            return await session.scalar(select(items.c.n).where(items.c.id == "i5"))  # type: ignore[no-any-return]

    waiting = asyncio.create_task(read())
    await asyncio.sleep(0.1)
    assert not waiting.done()  # waiting (asynchronously) for a connection
    await holders[0].close()
    assert await asyncio.wait_for(waiting, 5) == 5
    for session in holders[1:]:
        await session.close()
    assert pool.checkedout() == 0


async def test_a_writer_runs_directly_with_a_free_lock_and_commits_or_rolls_back_whole(engines) -> None:  # type: ignore[no-untyped-def]
    writer, reader, _ = engines
    writers = session_factory(writer)
    await writer.dispose()  # no idle connection: making one can wait, so the first statement is bridged
    async with writers() as session, session.begin():
        assert isinstance(session, LoopWriteSession) and not session._direct()
        await session.execute(items.update().where(items.c.id == "i1").values(n=11))
        assert session._direct()  # holding the write lock: nothing more can wait
        await session.execute(items.update().where(items.c.id == "i2").values(n=12))
        session.add(Item(id="new", n=99))
        assert (await session.get(Item, "new")).n == 99  # type: ignore[union-attr]  # autoflushed, directly
    with pytest.raises(RuntimeError, match="boom"):
        async with writers() as session, session.begin():
            assert session._direct()  # an idle connection and a free lock: BEGIN IMMEDIATE cannot wait
            await session.execute(items.update().where(items.c.id == "i3").values(n=13))
            await session.execute(items.update().where(items.c.id == "i4").values(n=14))
            raise RuntimeError("boom")
    async with session_factory(reader)() as session:
        rows = dict((await session.execute(select(items.c.id, items.c.n))).all())
    assert (rows["i1"], rows["i2"], rows["new"], rows["i3"], rows["i4"]) == (11, 12, 99, 3, 4)
    assert writer.sync_engine.pool.checkedout() == 0


async def test_a_second_writer_waits_for_the_first_and_a_closed_session_releases_the_lock(engines) -> None:  # type: ignore[no-untyped-def]
    writer, _, _ = engines
    writers = session_factory(writer)
    order: list[str] = []
    async with writer.connect(), writer.connect():  # leaves two idle connections in the pool (no BEGIN yet)
        pass
    first = writers()
    await first.execute(items.update().where(items.c.id == "i1").values(n=21))
    assert first._direct()  # type: ignore[attr-defined]
    await first.execute(items.update().where(items.c.id == "i1").values(n=n_plus(items.c.n)))

    async def second() -> None:
        async with writers() as session, session.begin():
            # Tried directly (an idle connection), BEGIN IMMEDIATE finds the lock taken: WouldWait,
            # the connection goes back, and the statement waits in the bridge.
            assert session._direct()  # type: ignore[attr-defined]
            await session.execute(items.update().where(items.c.id == "i1").values(n=n_plus(items.c.n)))
            order.append("second wrote")

    waiting = asyncio.create_task(second())
    await asyncio.sleep(0.1)
    assert not waiting.done() and order == []  # queued (asynchronously) for the write lock
    order.append("first closes")
    await first.close()  # no commit: rolled back, lock released
    await asyncio.wait_for(waiting, 5)
    assert order == ["first closes", "second wrote"]
    async with writers() as session:
        assert await session.scalar(select(items.c.n).where(items.c.id == "i1")) == 2  # 1 + 1: first rolled back


def n_plus(column):  # type: ignore[no-untyped-def]
    return column + 1


async def test_a_direct_begin_that_finds_sqlite_busy_waits_in_the_bridge(engines) -> None:  # type: ignore[no-untyped-def]
    """Another process holds SQLite's write lock: the direct BEGIN IMMEDIATE raises WouldWait
    instead of failing, and the statement is sent again through the bridge, which waits for SQLite
    asynchronously (holding the process's lock, as a bridged first statement always did)."""
    writer, reader, path = engines
    async with writer.connect():  # an idle connection: the session tries directly
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    lock_free_meanwhile: list[bool] = []

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        lock_free_meanwhile.append(not sqlite_loop._write_lock(str(path)).locked())
        holder.execute("COMMIT")

    releaser = asyncio.create_task(release_later())
    async with session_factory(writer)() as session, session.begin():
        assert session._direct()  # type: ignore[attr-defined]
        await session.execute(items.update().where(items.c.id == "i7").values(n=70))
    await releaser
    holder.close()
    assert lock_free_meanwhile == [False]  # the bridge took the lock again to wait for SQLite
    async with session_factory(reader)() as session:
        assert await session.scalar(select(items.c.n).where(items.c.id == "i7")) == 70
    assert not sqlite_loop._write_lock(str(path)).locked()
