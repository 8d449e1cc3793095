"""Writing events: an outbox row in the caller's transaction, and a wake-up for the relay once
that transaction commits (so publication is prompt without polling hard)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from salesgrid_common.actors import Caller
from salesgrid_common.copy_rows import insert_rows
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.envelope import EventMeta, build_envelope, subject_for
from salesgrid_common.events.tables import aggregate_versions, outbox
from salesgrid_common.events.versions import next_aggregate_version
from salesgrid_common.tracing import exporting, tracer

_TRACER = tracer(__name__)

_WAKE_KEY = "salesgrid_outbox_wake"


_INSERT = insert(outbox)


def event_type_of(producer: str, verb: str) -> str:
    """The type of `producer`'s event `verb` (`customer.created` -> salesgrid.customers.customer.created)."""
    return f"salesgrid.{producer}.{verb}"


class OutboxSignal:
    """Set after a commit that wrote outbox rows; the relay waits on it between polls."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        self._loop = asyncio.get_running_loop()

    def notify(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancellation that
        # arrives as the event is set, and the relay task then never stops.
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            pass
        self._event.clear()


class Outbox:
    def __init__(self, producer: str, signal: OutboxSignal | None = None, *, region: str = "") -> None:
        self.producer = producer
        self.signal = signal or OutboxSignal()
        self.region = region

    async def record(
        self, session: AsyncSession, event_type: str, payload: Message, meta: EventMeta, occurred_at: datetime
    ) -> str:
        """Add an event to the session's current transaction; returns the event id. The event
        carries the aggregate's next version (see events.versions)."""
        version = await next_aggregate_version(session, meta.aggregate_id) if meta.aggregate_id else 0
        # The envelope carries this span's context: the relay's publish span is its child. A
        # process that exports no spans makes none: the caller's context travels on.
        with (
            _TRACER.start_as_current_span(
                f"outbox record {event_type}",
                attributes={"messaging.destination.name": event_type, "salesgrid.aggregate_id": meta.aggregate_id},
            )
            if exporting()
            else contextlib.nullcontext()
        ):
            envelope = build_envelope(event_type, self.producer, payload, meta, occurred_at, version)
            await session.execute(_INSERT, self._row(envelope, occurred_at))  # built once, bound here
        session.sync_session.info[_WAKE_KEY] = self.signal
        return envelope.event_id

    async def record_by(
        self,
        session: AsyncSession,
        verb: str,
        payload: Message,
        principal: Caller | None,
        *,
        aggregate_id: str,
        org_path: str,
        occurred_at: datetime,
    ) -> str:
        """`record` of this service's event `salesgrid.<producer>.<verb>`, caused by `principal`
        (None: the service's own automation, `EventMeta.acting`): every producer's emit helper."""
        meta = EventMeta.acting(principal, self.producer, aggregate_id=aggregate_id, org_path=org_path)
        return await self.record(session, event_type_of(self.producer, verb), payload, meta, occurred_at)

    async def record_new_by(
        self,
        session: AsyncSession,
        verb: str,
        created: Sequence[tuple[Message, str, str]],
        principal: Caller | None,
        occurred_at: datetime,
    ) -> list[str]:
        """`record_new_aggregates` of this service's event `salesgrid.<producer>.<verb>`, one per
        (payload, aggregate id, org path) in `created`, caused by `principal` (as record_by)."""
        events = [
            (payload, EventMeta.acting(principal, self.producer, aggregate_id=aggregate_id, org_path=org_path))
            for payload, aggregate_id, org_path in created
        ]
        return await self.record_new_aggregates(session, event_type_of(self.producer, verb), events, occurred_at)

    def _row(self, envelope: Envelope, occurred_at: datetime) -> dict[str, Any]:
        """The outbox row of an envelope, waiting for the relay."""
        return {
            "event_id": envelope.event_id,
            "subject": subject_for(envelope.type, self.region),
            "envelope": envelope.SerializeToString(),
            "created_at": occurred_at,
            "attempts": 0,
        }

    async def record_new_aggregates(
        self, session: AsyncSession, event_type: str, events: Sequence[tuple[Message, EventMeta]], occurred_at: datetime
    ) -> list[str]:
        """Add one event per aggregate that did not exist before this transaction (a bulk
        create): each carries version 1, and the whole batch costs two statements (two COPYs on
        PostgreSQL). Should an aggregate id already have a version, the insert fails
        (IntegrityError) and nothing of the batch is written."""
        if not events:
            return []
        # One span for the batch; every envelope carries its context (see record).
        with _TRACER.start_as_current_span(
            f"outbox record {event_type}",
            attributes={"messaging.destination.name": event_type, "messaging.batch.message_count": len(events)},
        ):
            envelopes = [
                build_envelope(event_type, self.producer, payload, meta, occurred_at, 1) for payload, meta in events
            ]
            # COPY on PostgreSQL (copy_rows): an executemany is one execution per event there
            await insert_rows(
                session, aggregate_versions, [{"aggregate_id": meta.aggregate_id, "version": 1} for _, meta in events]
            )
            await insert_rows(session, outbox, [self._row(e, occurred_at) for e in envelopes])
        session.sync_session.info[_WAKE_KEY] = self.signal
        return [e.event_id for e in envelopes]


@event.listens_for(Session, "after_commit")
def _wake_relay(session: Session) -> None:
    signal = session.info.pop(_WAKE_KEY, None)
    if signal is not None:
        signal.notify()


@event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    session.info.pop(_WAKE_KEY, None)
