"""PostgreSQL pool checkouts (db.create_engine): a connection the server closed is replaced before
it is handed out, and a healthy one is handed out without a round trip (SQLAlchemy's pre-ping
cost three per checkout: BEGIN, a ping, ROLLBACK)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from salesgrid_common.db import create_engine
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
