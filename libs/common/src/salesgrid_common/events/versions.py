"""Versions that keep projections from going backwards, and the consumer's attempt counter.

Producer side: `next_aggregate_version` increments the aggregate's version in the transaction that
records an event (the row lock on PostgreSQL, the database lock on SQLite serialise writers of one
aggregate, so versions follow commit order). Consumer side: `claim_newer` tells a state projection
whether an event's version is newer than what it applied for that key, and remembers it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import SessionFactory, conflict_insert, dialect_name
from salesgrid_common.events.tables import aggregate_versions, delivery_attempts, projection_versions


# Statements are built once per shape and the values bound at execution (see db.upsert: SQLAlchemy
# would otherwise compute their cache key from the values on every call).


@lru_cache(maxsize=64)
def _increment_statement(dialect: str, table: Table, key: tuple[str, ...], column: str) -> Any:
    return (
        conflict_insert(dialect)(table)
        .on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1})
        .returning(table.c[column])
    )


async def _increment(session: AsyncSession, table: Table, key: dict[str, Any], column: str) -> int:
    statement = _increment_statement(dialect_name(session), table, tuple(key), column)
    return int((await session.execute(statement, {**key, column: 1})).scalar_one())


@lru_cache(maxsize=4)
def _claim_statement(dialect: str) -> Any:
    # One conditional statement: replicas of a consumer racing on one key serialise on the row,
    # and the loser re-checks the condition against the winner's version (READ COMMITTED).
    statement = conflict_insert(dialect)(projection_versions)
    return statement.on_conflict_do_update(
        index_elements=["projection", "key"],
        set_={"version": statement.excluded.version},
        where=projection_versions.c.version < statement.excluded.version,
    ).returning(projection_versions.c.version)


async def next_aggregate_version(session: AsyncSession, aggregate_id: str) -> int:
    return await _increment(session, aggregate_versions, {"aggregate_id": aggregate_id}, "version")


async def claim_newer(session: AsyncSession, projection: str, key: str, envelope: Envelope) -> bool:
    """True if `envelope` is newer than what `projection` applied for `key` (and remember it);
    False for an older or equal version that arrived late: the caller leaves its state alone.
    Events without a version (published before versions existed) are always applied."""
    version = envelope.aggregate_version
    if not version:
        return True
    statement = _claim_statement(dialect_name(session))
    row = await session.execute(statement, {"projection": projection, "key": key, "version": version})
    return bool(row.scalar_one_or_none() == version)


async def count_attempt(sessions: SessionFactory, consumer: str, event_id: str) -> int:
    """Record, in its own committed transaction, that a redelivered event is about to be handled
    again; returns how many times that happened."""
    async with sessions() as session, session.begin():
        return await _increment(session, delivery_attempts, {"consumer": consumer, "event_id": event_id}, "attempts")


async def forget_attempts(session: AsyncSession, consumer: str, event_id: str) -> None:
    await session.execute(
        delete(delivery_attempts).where(
            delivery_attempts.c.consumer == consumer, delivery_attempts.c.event_id == event_id
        )
    )
