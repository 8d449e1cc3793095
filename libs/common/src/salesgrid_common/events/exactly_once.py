"""Applying one event exactly once: the handler and the (consumer, event id) inbox row in one
transaction, so duplicates and redeliveries are absorbed."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory, conflict_insert, dialect_name
from salesgrid_common.events.subscriptions import Handler
from salesgrid_common.events.tables import inbox
from salesgrid_common.events.versions import forget_attempts as _forget_attempts


async def apply_once(
    sessions: SessionFactory,
    consumer: str,
    envelope: Envelope,
    handler: Handler,
    payload: Any,
    clock: Clock = utc_now,
    *,
    forget_attempts: bool = False,
) -> bool:
    """Run the handler and record the inbox row in one transaction. False if already applied.
    `forget_attempts`: also delete the event's redelivery counter (it is settled either way)."""
    async with sessions() as session, session.begin():
        if forget_attempts:
            await _forget_attempts(session, consumer, envelope.event_id)
        # One statement claims the event: nothing comes back if it was applied before (or a
        # replica's uncommitted claim wins the row, which it waits for on PostgreSQL).
        claimed = await session.scalar(_claim(dialect_name(session)), inbox_row(consumer, envelope, clock))
        if claimed is None:
            return False
        await handler(session, envelope, payload)
    return True


# Built once per dialect (the values are bound at execution, so SQLAlchemy's compiled-statement
# cache is hit without computing a key from them on every event).
@lru_cache(maxsize=4)
def _claim(dialect: str) -> Any:
    return conflict_insert(dialect)(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)


async def claim_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the inbox rows (distinct event ids) in one statement; the ids that were not there
    already, i.e. the events to apply now. The claim is part of the caller's transaction: if the
    handlers fail, it rolls back with them. On PostgreSQL a replica's uncommitted claim of the same
    event is waited for (then counts as applied, or is claimed here if it rolled back)."""
    if not rows:
        return set()
    result = await session.execute(_claim(dialect_name(session)), rows)
    return set(result.scalars())


def inbox_row(consumer: str, envelope: Envelope, clock: Clock) -> dict[str, Any]:
    """The row that marks `envelope` applied by `consumer`."""
    return {"consumer": consumer, "event_id": envelope.event_id, "event_type": envelope.type, "processed_at": clock()}


def trace_carrier(msg: Any, envelope: Envelope) -> dict[str, str]:
    """Whose child the handling span is: the relay's publish span (its context is in the message
    headers), else the span that recorded the event (the envelope's, e.g. a replayed dead letter)."""
    headers = getattr(msg, "headers", None) or {}
    if "traceparent" in headers:
        return {k: v for k, v in headers.items() if k in ("traceparent", "tracestate")}
    return dict(envelope.trace_context)
