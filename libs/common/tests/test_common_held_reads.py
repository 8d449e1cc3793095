"""PostgreSQL reads on kept connections (salesgrid_common.held_reads, through db.reading): a read
reuses a kept connection without a checkout, in autocommit; the engine keeps at most half its pool;
a connection the server closed, one whose read failed, and every one at the engine's dispose goes
back to the pool instead of being lent again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from salesgrid_common.db import create_engine, reading, session_factory
from salesgrid_common.errors import NotFound
from salesgrid_common.held_reads import held_reads
from salesgrid_dev.processes import ThrowawayPostgres


async def _pid(reads: Any) -> int:
    return int((await reads.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def _checkouts(engine: Any) -> list[int]:
    seen: list[int] = []
    event.listen(engine.sync_engine.pool, "checkout", lambda *_: seen.append(1))
    return seen


async def test_reads_reuse_a_kept_connection_without_a_checkout(postgres: ThrowawayPostgres) -> None:
    engine = create_engine(postgres.create_database("held_reuse"), pool_size=4)
    sessions = session_factory(engine)
    checkouts = _checkouts(engine)
    try:
        async with reading(sessions) as reads:
            first = await _pid(reads)
            driver = (await reads.get_raw_connection()).driver_connection
            assert not driver.is_in_transaction()  # autocommit: no BEGIN before the statement
        sent: list[str] = []
        driver.add_query_logger(lambda record: sent.append(record.query))
        for _ in range(5):
            async with reading(sessions) as reads:
                assert await _pid(reads) == first
                raw = (await reads.get_raw_connection()).driver_connection
                assert await raw.fetchval("SELECT 1") == 1  # as driver_rows reads
        assert checkouts == [1]  # only the first read took one from the pool
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon after the query
        assert sent == ["SELECT 1"] * 5  # nothing around the statements (no BEGIN, no reset)
        async with sessions() as session:  # a writer's session still gets its own transaction
            await session.execute(text("SELECT 1"))
            writer = (await (await session.connection()).get_raw_connection()).driver_connection
            assert writer is not driver and writer.is_in_transaction()
    finally:
        await engine.dispose()


async def test_concurrent_reads_keep_at_most_half_the_pool(postgres: ThrowawayPostgres) -> None:
    engine = create_engine(postgres.create_database("held_limit"), pool_size=4)
    sessions = session_factory(engine)
    held = held_reads(engine)
    assert held is not None and held.limit == 2
    gate = asyncio.Event()
    pids: list[int] = []

    async def read() -> None:
        async with reading(sessions) as reads:
            pids.append(await _pid(reads))
            await gate.wait()

    try:
        tasks = [asyncio.create_task(read()) for _ in range(5)]
        while len(pids) < 5:
            await asyncio.sleep(0.01)
        assert len(set(pids)) == 5  # five reads at once: five connections
        gate.set()
        await asyncio.gather(*tasks)
        assert held.kept == 2 and len(held.free) == 2
        assert engine.sync_engine.pool.checkedout() == 2  # the other three went back to the pool
        async with sessions() as session:  # and what went back is in the engine's isolation
            await session.execute(text("SELECT 1"))
            writer = (await (await session.connection()).get_raw_connection()).driver_connection
            assert writer.is_in_transaction()
    finally:
        await engine.dispose()


async def test_a_kept_connection_the_server_closed_is_replaced(postgres: ThrowawayPostgres) -> None:
    url = postgres.create_database("held_closed")
    engine = create_engine(url, pool_size=4)
    other = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        async with reading(sessions) as reads:
            first = await _pid(reads)
            driver = (await reads.get_raw_connection()).driver_connection
        async with other.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        for _ in range(100):
            if driver.is_closed():
                break
            await asyncio.sleep(0.02)
        assert driver.is_closed()
        async with reading(sessions) as reads:  # without the check: ConnectionDoesNotExistError
            second = await _pid(reads)
        assert second != first
        assert held_reads(engine).kept == 1  # type: ignore[union-attr]
    finally:
        await engine.dispose()
        await other.dispose()


async def test_a_failed_read_gives_its_connection_back_and_a_domain_error_does_not(
    postgres: ThrowawayPostgres,
) -> None:
    engine = create_engine(postgres.create_database("held_errors"), pool_size=4)
    sessions = session_factory(engine)
    try:
        with pytest.raises(NotFound):  # a read's answer, not the connection's fault: kept
            async with reading(sessions) as reads:
                first = await _pid(reads)
                raise NotFound("no such customer")
        async with reading(sessions) as reads:
            assert await _pid(reads) == first
        with pytest.raises(DBAPIError):
            async with reading(sessions) as reads:
                await reads.execute(text("SELECT no_such_column"))
        held = held_reads(engine)
        assert held is not None and held.kept == 0 and held.free == []
        async with sessions() as session:  # it went back to the pool, transactional again
            await session.execute(text("SELECT 1"))
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver.is_in_transaction()
        async with reading(sessions) as reads:
            assert await _pid(reads) > 0
    finally:
        await engine.dispose()


async def test_dispose_closes_the_kept_connections_so_the_database_can_be_dropped(
    postgres: ThrowawayPostgres,
) -> None:
    url = postgres.create_database("held_dispose")
    engine = create_engine(url, pool_size=4)
    sessions = session_factory(engine)
    lent = reading(sessions)
    during = await lent.__aenter__()  # a read in progress while the engine is disposed
    async with reading(sessions) as reads:  # and a kept one that is free then
        driver = (await reads.get_raw_connection()).driver_connection
    lent_driver = (await during.get_raw_connection()).driver_connection
    assert lent_driver is not driver and held_reads(engine).free != []  # type: ignore[union-attr]
    await engine.dispose()
    assert driver.is_closed()
    await lent.__aexit__(None, None, None)
    assert during.closed and lent_driver.is_closed()
    held = held_reads(engine)
    assert held is not None and held.free == [] and held.kept == 0
    postgres.execute('DROP DATABASE "held_dispose"')  # fails while a session is connected to it


async def test_a_pool_of_one_keeps_nothing(postgres: ThrowawayPostgres) -> None:
    engine = create_engine(postgres.create_database("held_none"), pool_size=1)
    try:
        assert held_reads(engine) is None  # half of one: reads check out and back in as before
    finally:
        await engine.dispose()
