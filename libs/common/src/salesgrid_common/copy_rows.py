"""A batch of new rows written with PostgreSQL's COPY, in the caller's transaction.

An executemany of a batch (an import's 500 customers, their outbox events) is 500 executions of
one prepared INSERT: the service pays SQLAlchemy's per-row parameter handling for each and
PostgreSQL an execution each. COPY sends the batch as one stream of binary rows. The values go
through the columns' own bind processors first (UtcDateTime, JSON: the same conversions an INSERT
applies), so what is stored is what the INSERT would have stored. The COPY runs on the session's
connection, inside its transaction and savepoints: it commits or rolls back with them; a
constraint violation is raised as SQLAlchemy's IntegrityError, as the INSERT's would be. Outside a
transaction the rows are inserted with the plain INSERT instead, and so on SQLite.

On SQLite the statements run on the event loop itself (sqlite_loop): one executemany of an
import's 500 customers held a service's loop for 30-100 ms, and every read of that service waited
behind it (a customer read's p99 during an import was 0.2-0.4 s). There the rows go in chunks of
LOOP_CHUNK, the loop free to run other requests between them; the rows still share the caller's
transaction, and as before a failing row leaves the rows sent before it to the caller's rollback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import dialect_name

LOOP_CHUNK = 50  # rows per statement where the database runs on the event loop (SQLite)
T = TypeVar("T")


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows (every one with the same columns) inserted: COPY on PostgreSQL, else one
    executemany INSERT."""
    if not rows:
        return
    connection = await session.connection()
    if dialect_name(connection) != "postgresql":
        await execute_in_chunks(session, insert(table), rows)
        return
    driver: Any = (await connection.get_raw_connection()).driver_connection  # asyncpg's connection
    if not driver.is_in_transaction():
        await session.execute(insert(table), rows)
        return
    names = list(rows[0])
    processors = [(name, table.c[name].type.bind_processor(connection.dialect)) for name in names]
    records = [
        tuple(row[name] if process is None else process(row[name]) for name, process in processors) for row in rows
    ]
    import asyncpg  # PostgreSQL only: the SQLite platform need not load it

    try:
        await driver.copy_records_to_table(table.name, columns=names, records=records)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise IntegrityError(f"COPY {table.name}", None, exc) from exc


async def loop_chunks(items: Sequence[T]) -> AsyncIterator[Sequence[T]]:
    """`items` LOOP_CHUNK at a time, the event loop free to run whatever else is ready between
    chunks (SQLite's statements run on the loop: see the module's note)."""
    for start in range(0, len(items), LOOP_CHUNK):
        if start:
            await asyncio.sleep(0)
        yield items[start : start + LOOP_CHUNK]


async def execute_in_chunks(session: AsyncSession, statement: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """`statement` executed for `rows` a loop chunk at a time (loop_chunks)."""
    async for chunk in loop_chunks(rows):
        await session.execute(statement, chunk)
