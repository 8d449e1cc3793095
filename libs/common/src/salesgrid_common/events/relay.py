"""The outbox relay: publishes outbox rows to JetStream and marks them published only after
JetStream acknowledged them. A lone row is one message with Nats-Msg-Id = event id; consecutive
rows of one subject that are waiting together go as one pack (events.packs) whose Nats-Msg-Id
derives from their event ids. It starts with whatever a crashed process left behind; a row
published but not marked is published again and JetStream's duplicate window (the same pack) or
the consumers' inbox (rows packed differently) absorbs it.

On SQLite the running relay marks what JetStream acknowledged in the transaction that reads the
next batch (at its next wake-up: the next commit, at the latest one poll interval later, or when
it stops): one transaction per batch instead of two. Until then those rows still read as
unpublished, and a crash publishes them again: the crash between publish and mark the relay
always allowed for."""

from __future__ import annotations

import asyncio
import contextlib
from functools import lru_cache
import logging
from datetime import timedelta
from typing import Any, Protocol

from opentelemetry.trace import SpanKind
from sqlalchemy import ARRAY, String, bindparam, delete, func, select, update

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.business_metrics import count_published
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory, is_sqlite
from salesgrid_common.events.envelope import parse_envelope
from salesgrid_common.events.outbox import OutboxSignal
from salesgrid_common.events.packs import MAX_PACK_BYTES, MAX_PACK_EVENTS, PACK_HEADER, encode_pack, group_rows, pack_id
from salesgrid_common.events.tables import outbox
from salesgrid_common.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, PUBLISH_FAILURES
from salesgrid_common.tracing import context_from, current_trace_context, exporting, tracer

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)


class Publisher(Protocol):
    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None: ...


# Built once (each tick and each published batch runs them; see db.upsert on why).
@lru_cache(maxsize=8)
def _unpublished(batch_size: int) -> Any:
    return (
        select(outbox.c.event_id, outbox.c.subject, outbox.c.envelope)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.event_id)
        .limit(batch_size)
    )


_MARK_PUBLISHED = (
    update(outbox)
    .where(outbox.c.event_id.in_(bindparam("ids", expanding=True)))
    .values(published_at=bindparam("published_at"))
)
# PostgreSQL: the ids as one array parameter. An expanding IN renders (and asyncpg prepares) one
# statement per batch length, and PostgreSQL plans a list of up to 500 values each time.
_MARK_PUBLISHED_ARRAY = (
    update(outbox)
    .where(outbox.c.event_id == func.any(bindparam("ids", type_=ARRAY(String))))
    .values(published_at=bindparam("published_at"))
)


class OutboxRelay:
    def __init__(
        self,
        service: str,
        sessions: SessionFactory,
        publisher: Publisher,
        signal: OutboxSignal,
        *,
        database_url: str,
        batch_size: int = 200,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
        keep_published: timedelta = timedelta(days=1),
        clock: Clock = utc_now,
        pack_events: int = MAX_PACK_EVENTS,
        pack_bytes: int = MAX_PACK_BYTES,
    ) -> None:
        self.service = service
        self.sessions = sessions
        self.publisher = publisher
        self.signal = signal
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.keep_published = keep_published
        self.clock = clock
        self.pack_events = pack_events  # 1: every row its own message
        self.pack_bytes = pack_bytes
        # Several replicas share one outbox on PostgreSQL: lock rows so each is sent by one.
        self._lock_rows = not is_sqlite(database_url)
        self._last_housekeeping = float("-inf")
        self._unmarked: list[str] = []  # acknowledged, marked with the next read (SQLite, run())

    async def run(self) -> None:
        self.signal.bind()
        PUBLISH_FAILURES.labels(self.service)  # the series exists at 0 before the first failure
        failures = 0
        while True:
            try:
                sent = await self.publish_pending(defer_marks=True)
                failures = 0
                if sent < self.batch_size:
                    await self.signal.wait(self.poll_interval)
            except asyncio.CancelledError:
                await self._mark_unmarked_on_stop()
                raise
            except Exception as exc:
                failures += 1
                PUBLISH_FAILURES.labels(self.service).inc()
                delay = min(self.max_backoff, 0.1 * 2**failures)
                log.warning("outbox publish failed, retrying", extra={"error": str(exc), "retry_in": delay})
                await asyncio.sleep(delay)

    async def publish_pending(self, *, defer_marks: bool = False) -> int:
        """Publish one batch; returns how many rows were acknowledged. The batch's publishes are
        in flight together (in outbox order on one connection, so JetStream stores them in that
        order) and the acknowledged rows are marked in one UPDATE. On a failure only the rows
        before the first failed one are marked; later rows are published again on the retry and
        JetStream's duplicate window absorbs those that were stored. The error propagates so
        run() backs off.

        On PostgreSQL the rows stay locked (SKIP LOCKED) while in flight, so each replica sends its
        own. On SQLite (one process per database) the rows are read, published, then marked in a
        short transaction: holding the database's single write lock while JetStream acknowledges
        would stall every writer of the service (past busy_timeout when a NATS node is down).
        With `defer_marks` (run(), SQLite) the rows acknowledged are marked by the next call, in
        the transaction that reads, unless a publish failed (see the module text)."""
        failure: BaseException | None = None
        query = _unpublished(self.batch_size)
        if self._lock_rows:
            async with self.sessions() as session:
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                acknowledged, failure = await self._publish_batch(rows)
                await self._mark(session, rows, acknowledged, failure)
                await session.commit()
        else:
            async with self.sessions() as session, session.begin():
                if self._unmarked:  # before the read: those rows are not read again
                    await session.execute(_MARK_PUBLISHED, {"ids": self._unmarked, "published_at": self.clock()})
                rows = (await session.execute(query)).all()
            self._unmarked = []
            acknowledged, failure = await self._publish_batch(rows)
            if defer_marks and failure is None:
                self._unmarked = acknowledged
            elif acknowledged or failure is not None:
                async with self.sessions() as session, session.begin():
                    await self._mark(session, rows, acknowledged, failure)
        now = asyncio.get_running_loop().time()
        if failure is not None or now - self._last_housekeeping > 5.0:
            self._last_housekeeping = now
            await self._housekeeping()
        if failure is not None:
            raise failure
        return len(acknowledged)

    async def _publish_batch(self, rows: Any) -> tuple[list[str], BaseException | None]:
        """Publish rows together, consecutive rows of one subject as packs; the ids acknowledged
        before the first failed message (a pack's rows all or none), and that failure."""
        packs = group_rows(
            rows,
            lambda row: row.subject,
            lambda row: len(row.envelope),
            max_events=self.pack_events,
            max_bytes=self.pack_bytes,
        )
        results = await asyncio.gather(*(self._publish(pack) for pack in packs), return_exceptions=True)
        acknowledged: list[str] = []
        for pack, result in zip(packs, results):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                return acknowledged, result
            for row, envelope in zip(pack, result):
                acknowledged.append(row.event_id)
                EVENTS_PUBLISHED.labels(row.subject).inc()
                count_published(envelope)
        return acknowledged, None

    async def _mark_unmarked_on_stop(self) -> None:
        """Mark what the last batch left to the next read, so a graceful stop does not publish it
        again after a restart; bounded and best effort (failing, it is the crash case)."""
        if not self._unmarked:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0), self.sessions() as session, session.begin():
                await session.execute(_MARK_PUBLISHED, {"ids": self._unmarked, "published_at": self.clock()})
            self._unmarked = []

    async def _mark(self, session: Any, rows: Any, acknowledged: list[str], failure: BaseException | None) -> None:
        if failure is not None:
            await session.execute(
                update(outbox)
                .where(outbox.c.event_id == rows[len(acknowledged)].event_id)
                .values(attempts=outbox.c.attempts + 1, last_error=str(failure)[:2000])
            )
        if acknowledged:
            mark = _MARK_PUBLISHED_ARRAY if self._lock_rows else _MARK_PUBLISHED
            await session.execute(mark, {"ids": acknowledged, "published_at": self.clock()})

    async def _publish(self, rows: list[Any]) -> list[Envelope]:
        """Publish one row, or several of one subject as a pack, each event in a PRODUCER span
        that is a child of the span that recorded it (its trace context travels in the envelope);
        the message headers (a pack: each event's entry) carry that span's context so each
        consumer's span is its child. Nothing is awaited before the publish: the gathered
        publishes leave in outbox order."""
        envelopes = [parse_envelope(row.envelope) for row in rows]
        traced = exporting()
        with contextlib.ExitStack() as spans:
            carriers = []
            for row, envelope in zip(rows, envelopes):
                if traced:
                    spans.enter_context(self._span(row, envelope))
                    carriers.append({**dict(envelope.trace_context), **current_trace_context()})
                else:
                    # No span would be recorded: the recording span's context travels on, as a
                    # non-recording span would carry it (its trace id), without making one per event.
                    carriers.append(dict(envelope.trace_context))
            if len(rows) == 1:
                headers = {**carriers[0], "Nats-Msg-Id": rows[0].event_id}
                await self.publisher.publish(rows[0].subject, rows[0].envelope, headers)
            else:
                # Untraced, each event's carrier is its envelope's own: nothing to repeat.
                payload = encode_pack([(row.envelope, c if traced else {}) for row, c in zip(rows, carriers)])
                headers = {"Nats-Msg-Id": pack_id([row.event_id for row in rows]), PACK_HEADER: str(len(rows))}
                await self.publisher.publish(rows[0].subject, payload, headers)
        return envelopes

    def _span(self, row: Any, envelope: Envelope) -> Any:
        return _TRACER.start_as_current_span(
            f"publish {envelope.type}",
            context=context_from(dict(envelope.trace_context)),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": row.subject,
                "messaging.message.id": row.event_id,
            },
        )

    async def _housekeeping(self) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(delete(outbox).where(outbox.c.published_at < self.clock() - self.keep_published))
            backlog = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        OUTBOX_BACKLOG.labels(self.service).set(max(0, (backlog or 0) - len(self._unmarked)))
