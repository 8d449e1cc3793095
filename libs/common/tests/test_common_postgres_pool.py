"""PostgreSQL pool checkouts (db.create_engine): a connection the server closed is replaced before
it is handed out, and a healthy one is handed out without a round trip (SQLAlchemy's pre-ping
cost three per checkout: BEGIN, a ping, ROLLBACK)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from salesgrid_common.db import create_engine, reading, session_factory
from salesgrid_dev.processes import ThrowawayPostgres


async def _backend_pid(connection: Any) -> int:
    return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_the_server_closed_is_replaced_at_checkout(postgres: ThrowawayPostgres) -> None:
    url = postgres.create_database("pool_closed")
    engine = create_engine(url, pool_size=1)
    other = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            first = await _backend_pid(connection)
            pooled = (await connection.get_raw_connection()).driver_connection
        # The pooled connection's server process goes away (as in a restart or failover).
        async with other.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        for _ in range(100):  # asyncpg sees the socket end on the loop
            if pooled.is_closed():
                break
            await asyncio.sleep(0.02)
        assert pooled.is_closed()
        async with engine.connect() as connection:  # without the check: ConnectionDoesNotExistError
            second = await _backend_pid(connection)
        assert second != first
    finally:
        await engine.dispose()
        await other.dispose()


async def test_a_healthy_checkout_sends_nothing_to_the_server(postgres: ThrowawayPostgres) -> None:
    url = postgres.create_database("pool_quiet")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            await _backend_pid(connection)
            pooled = (await connection.get_raw_connection()).driver_connection
        sent: list[str] = []
        pooled.add_query_logger(lambda record: sent.append(record.query))
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is pooled  # the same pooled connection
            assert await driver.fetchval("SELECT 1") == 1
        # Only the statement itself went to the server: no BEGIN / ping / ROLLBACK of a pre-ping
        # (SQLAlchemy began no transaction: nothing ran through it).
        assert sent == ["SELECT 1"], sent
    finally:
        await engine.dispose()


async def test_a_read_runs_outside_a_transaction_and_a_session_still_begins_one(postgres: ThrowawayPostgres) -> None:
    """db.reading on PostgreSQL: autocommit, so no BEGIN (and no ROLLBACK) round trip around a
    read's statements; the connection goes back to the pool in the engine's own isolation (a Session
    on it still begins a transaction)."""
    url = postgres.create_database("pool_reads")
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        async with reading(sessions) as reads:
            assert (await reads.execute(text("SELECT 1"))).scalar_one() == 1
            driver = (await reads.get_raw_connection()).driver_connection
            assert not driver.is_in_transaction()
            assert (await reads.execute(text("SELECT 2"))).scalar_one() == 2
            assert not driver.is_in_transaction()
        async with sessions() as session:
            assert (await session.execute(text("SELECT 3"))).scalar_one() == 3
            same = (await (await session.connection()).get_raw_connection()).driver_connection
            assert same is driver and same.is_in_transaction()  # the pool's one connection, reset
    finally:
        await engine.dispose()


async def test_a_read_that_fails_leaves_the_connection_transactional(postgres: ThrowawayPostgres) -> None:
    url = postgres.create_database("pool_failed_read")
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        with pytest.raises(DBAPIError):
            async with reading(sessions) as reads:
                await reads.execute(text("SELECT no_such_column"))
        async with sessions() as session:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
            driver = (await (await session.connection()).get_raw_connection()).driver_connection
            assert driver.is_in_transaction()
    finally:
        await engine.dispose()


async def test_a_checkout_takes_the_connection_returned_last(postgres: ThrowawayPostgres) -> None:
    """Last in, first out: the work stays on the warm connections instead of rotating through the pool."""
    engine = create_engine(postgres.create_database("pool_lifo"), pool_size=4)
    try:
        first, second = await engine.connect(), await engine.connect()
        a, b = await _backend_pid(first), await _backend_pid(second)
        await first.close()
        await second.close()  # returned last
        async with engine.connect() as connection:
            assert await _backend_pid(connection) == b != a
        async with engine.connect() as connection:
            assert await _backend_pid(connection) == b
    finally:
        await engine.dispose()
