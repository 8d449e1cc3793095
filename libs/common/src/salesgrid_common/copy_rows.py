"""A batch of new rows written with PostgreSQL's COPY, in the caller's transaction.

An executemany of a batch (an import's 500 customers, their outbox events) is 500 executions of
one prepared INSERT: the service pays SQLAlchemy's per-row parameter handling for each and
PostgreSQL an execution each. COPY sends the batch as one stream of binary rows. The values go
through the columns' own bind processors first (UtcDateTime, JSON: the same conversions an INSERT
applies), so what is stored is what the INSERT would have stored. The COPY runs on the session's
connection, inside its transaction and savepoints: it commits or rolls back with them; a
constraint violation is raised as SQLAlchemy's IntegrityError, as the INSERT's would be. Outside a
transaction the rows are inserted with the plain INSERT instead, and so on SQLite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """The rows (every one with the same columns) inserted: COPY on PostgreSQL, else one
    executemany INSERT."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await session.execute(insert(table), rows)
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
