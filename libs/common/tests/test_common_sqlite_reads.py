"""`db.reading` on SQLite's reader is a `LoopReads` connection: its checkout, deferred BEGIN,
statements and close run directly on the loop when the pool has an idle connection, through
SQLAlchemy's greenlet bridge otherwise, with the answers, snapshot and read-only guard of a
session (an exhausted pool: test_common_sqlite_sessions)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import in_greenlet

from salesgrid_common.db import create_engine, create_reader, reading, session_factory
from salesgrid_common.sqlite_sessions import LoopReads

metadata = MetaData()
items = Table("items", metadata, Column("id", String, primary_key=True), Column("n", Integer))


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"
    writer = create_engine(url)
    reader = create_reader(url, writer)
    async with writer.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(items), [{"id": f"i{n}", "n": n} for n in range(10)])
    yield writer, reader
    await reader.dispose()
    await writer.dispose()


def bridged(engine: AsyncEngine) -> list[tuple[str, bool]]:
    """Each checkout and statement of the reader, and whether it ran inside the greenlet bridge."""
    seen: list[tuple[str, bool]] = []

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def checkout(*_: Any) -> None:
        seen.append(("checkout", in_greenlet()))

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def statement(*_: Any) -> None:
        seen.append(("statement", in_greenlet()))

    return seen


async def test_reads_answer_as_a_session_does_and_run_directly_once_a_connection_is_idle(engines) -> None:  # type: ignore[no-untyped-def]
    _, reader = engines
    readers = session_factory(reader)
    async with readers() as session:
        expected = (
            await session.scalar(select(items.c.n).where(items.c.id == "i4")),
            (await session.execute(select(items.c.id, items.c.n).where(items.c.n > 7))).all(),
        )
    await reader.dispose()  # no idle connection: the first reading makes one, through the bridge
    calls = bridged(reader)
    for attempt in range(2):
        async with reading(readers) as reads:
            assert isinstance(reads, LoopReads)
            got = (
                await reads.scalar(select(items.c.n).where(items.c.id == "i4")),
                (await reads.execute(select(items.c.id, items.c.n).where(items.c.n > 7))).all(),
            )
        assert got == expected
        # Once a connection is held nothing waits: statements run directly, and so does the
        # second reading's checkout of the idle connection.
        assert calls == [("checkout", attempt == 0), ("statement", False), ("statement", False)]
        calls.clear()
    assert reader.sync_engine.pool.checkedout() == 0  # closing returned the connection


async def test_a_reading_sees_one_snapshot_across_its_statements(engines) -> None:  # type: ignore[no-untyped-def]
    writer, reader = engines
    readers = session_factory(reader)
    async with reading(readers) as reads:
        before = await reads.scalar(select(items.c.n).where(items.c.id == "i1"))
        async with writer.begin() as conn:
            await conn.execute(items.update().where(items.c.id == "i1").values(n=100))
        assert await reads.scalar(select(items.c.n).where(items.c.id == "i1")) == before == 1
    async with reading(readers) as reads:
        assert await reads.scalar(select(items.c.n).where(items.c.id == "i1")) == 100


async def test_a_write_through_a_reading_fails_loudly_and_the_connection_goes_back(engines) -> None:  # type: ignore[no-untyped-def]
    _, reader = engines
    for _ in range(2):
        with pytest.raises(OperationalError, match="readonly"):
            async with reading(session_factory(reader)) as reads:
                await reads.execute(items.update().values(n=0))
    assert reader.sync_engine.pool.checkedout() == 0
