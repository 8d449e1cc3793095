"""Dead letters: what a consumer gave up on, kept with its envelope until an operator replays it.

Writing one is idempotent per (consumer, event): a process that dies between writing the row and
terminating the message finds the row on the next delivery and writes no second one; an event
the inbox shows applied (its ack was lost) is never dead-lettered. Replaying applies the stored
envelope through the consumer's own handler (inbox included: nothing is applied twice) and
deletes the row in the same transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, insert, select

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.envelope import parse_envelope, payload_of
from salesgrid_common.events.exactly_once import apply_once
from salesgrid_common.events.subscriptions import Subscription
from salesgrid_common.events.tables import dead_letters, inbox
from salesgrid_common.events.versions import forget_attempts
from salesgrid_common.ids import new_id

log = logging.getLogger(__name__)

Outcome = Literal["written", "applied", "already"]


async def record_dead_letter(
    sessions: SessionFactory,
    consumer: str,
    subject: str,
    data: bytes,
    envelope: Envelope | None,
    error: Exception,
    deliveries: int,
    at: datetime,
) -> Outcome:
    event_id = envelope.event_id if envelope else ""
    async with sessions() as session, session.begin():
        if event_id:
            if (
                await session.scalar(
                    select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
                )
                is not None
            ):
                return "applied"
            if (
                await session.scalar(
                    select(dead_letters.c.id).where(
                        dead_letters.c.consumer == consumer, dead_letters.c.event_id == event_id
                    )
                )
                is not None
            ):
                return "already"
        if event_id:
            await forget_attempts(session, consumer, event_id)
        await session.execute(
            insert(dead_letters).values(
                id=new_id(),
                consumer=consumer,
                event_id=event_id,
                event_type=envelope.type if envelope else "",
                subject=subject,
                envelope=data,
                error=repr(error)[:4000],
                deliveries=deliveries,
                failed_at=at,
            )
        )
    return "written"


async def settled_events(sessions: SessionFactory, consumer: str, event_ids: list[str]) -> set[str]:
    """Of `event_ids`, those `consumer` applied (inbox) or gave up on (dead_letters): what a pack
    delivered again skips (events.redelivery)."""
    wanted = [event_id for event_id in event_ids if event_id]
    if not wanted:
        return set()
    async with sessions() as session:
        applied = await session.scalars(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id.in_(wanted))
        )
        dead = await session.scalars(
            select(dead_letters.c.event_id).where(
                dead_letters.c.consumer == consumer, dead_letters.c.event_id.in_(wanted)
            )
        )
        return {*applied, *dead}


async def count_pending(sessions: SessionFactory, consumer: str) -> int:
    async with sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(dead_letters).where(dead_letters.c.consumer == consumer)
            )
            or 0
        )


@dataclass(frozen=True)
class ReplayResult:
    applied: int = 0
    duplicates: int = 0  # already applied (by a later delivery or an earlier replay): row removed
    failed: int = 0  # the handler still fails: the row stays, its error updated
    skipped: int = 0  # no subscription of this service handles the row's consumer or type


async def replay_dead_letters(
    sessions: SessionFactory,
    subscriptions: "list[Subscription]",
    *,
    consumer: str = "",
    ids: tuple[str, ...] = (),
    clock: Clock = utc_now,
) -> ReplayResult:
    """Apply dead letters again, oldest first, each in its own transaction with its inbox row;
    a success deletes the dead letter. Optionally only one consumer's or only the given ids."""
    by_name = {sub.name: sub for sub in subscriptions}
    query = select(dead_letters).order_by(dead_letters.c.failed_at, dead_letters.c.id)
    if consumer:
        query = query.where(dead_letters.c.consumer == consumer)
    if ids:
        query = query.where(dead_letters.c.id.in_(ids))
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    applied = duplicates = failed = skipped = 0
    for row in rows:
        sub = by_name.get(row.consumer)
        try:
            envelope = parse_envelope(row.envelope)
        except Exception:
            skipped += 1
            continue
        route = sub.route(envelope.type) if sub else None
        if route is None:
            skipped += 1
            continue
        payload_type, handler = route

        async def handle_and_forget(session, envelope, payload, _handler=handler, _id=row.id):  # type: ignore[no-untyped-def]
            await _handler(session, envelope, payload)
            await session.execute(delete(dead_letters).where(dead_letters.c.id == _id))

        try:
            payload = payload_of(envelope, payload_type)
            done = await apply_once(sessions, row.consumer, envelope, handle_and_forget, payload, clock)
        except Exception as exc:
            failed += 1
            log.error(
                "dead letter replay failed",
                extra={"consumer": row.consumer, "event_id": row.event_id, "error": repr(exc)},
            )
            async with sessions() as session, session.begin():
                await session.execute(
                    dead_letters.update()
                    .where(dead_letters.c.id == row.id)
                    .values(error=repr(exc)[:4000], failed_at=clock())
                )
            continue
        if done:
            applied += 1
        else:
            duplicates += 1
            async with sessions() as session, session.begin():
                await session.execute(delete(dead_letters).where(dead_letters.c.id == row.id))
    return ReplayResult(applied, duplicates, failed, skipped)
