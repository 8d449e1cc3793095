"""On SQLite, whose statements run on the event loop, a bulk insert (copy_rows.insert_rows, an
import's batch) goes in chunks of LOOP_CHUNK rows and lets the loop run other requests between
them, all in the caller's one transaction: a read of the same service no longer waits for the whole
batch (an import's read p99 went from 0.2-0.4 s to under 0.1 s: docs/performance.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common import copy_rows
from salesgrid_common.copy_rows import LOOP_CHUNK, insert_rows
from salesgrid_common.db import create_engine, session_factory

metadata = MetaData()
items = Table("chunked_items", metadata, Column("id", String, primary_key=True), Column("n", Integer))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'chunks.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


class Ticker:
    """A task that counts the turns the event loop gives it."""

    def __init__(self) -> None:
        self.turns = 0
        self.running = True

    async def run(self) -> None:
        while self.running:
            self.turns += 1
            await asyncio.sleep(0)


async def _count(engine: AsyncEngine) -> int:
    async with session_factory(engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(items)) or 0)


async def test_a_bulk_insert_on_sqlite_lets_other_tasks_run_between_its_chunks(engine: AsyncEngine) -> None:
    rows = [{"id": f"r{n:04d}", "n": n} for n in range(4 * LOOP_CHUNK + 1)]  # five chunks
    sent: list[int] = []
    ticker = Ticker()
    async with session_factory(engine)() as session, session.begin():
        original = session.execute

        async def recording_execute(statement, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
            sent.append(len(params) if isinstance(params, list) else 1)
            return await original(statement, params, *args, **kwargs)

        session.execute = recording_execute  # type: ignore[method-assign]
        task = asyncio.create_task(ticker.run())
        await asyncio.sleep(0)  # the ticker's first turn
        before = ticker.turns
        await insert_rows(session, items, rows)
        during = ticker.turns - before
        ticker.running = False
        await task
        session.execute = original  # type: ignore[method-assign]
    assert sent == [LOOP_CHUNK] * 4 + [1]
    assert during >= 4  # a turn between each two chunks: one executemany gave it none
    assert await _count(engine) == len(rows)


async def test_the_chunks_share_the_callers_transaction(engine: AsyncEngine) -> None:
    rows = [{"id": f"r{n:04d}", "n": n} for n in range(3 * LOOP_CHUNK)]
    rows[-1]["id"] = rows[0]["id"]  # the last chunk fails on the primary key
    with pytest.raises(IntegrityError):
        async with session_factory(engine)() as session, session.begin():
            await insert_rows(session, items, rows)
    assert await _count(engine) == 0  # the chunks sent before it rolled back with it


async def test_a_batch_within_one_chunk_is_one_statement_without_a_turn(engine: AsyncEngine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    yielded: list[float] = []
    real_sleep = asyncio.sleep

    async def sleep(delay: float) -> None:
        yielded.append(delay)
        await real_sleep(delay)

    monkeypatch.setattr(copy_rows.asyncio, "sleep", sleep)
    async with session_factory(engine)() as session, session.begin():
        await insert_rows(session, items, [{"id": f"s{n}", "n": n} for n in range(LOOP_CHUNK)])
    assert yielded == []
    assert await _count(engine) == LOOP_CHUNK
