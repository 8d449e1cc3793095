"""The outbox relay: publishes outbox rows to JetStream with Nats-Msg-Id = event id and marks
them published only after JetStream acknowledged them. It starts with whatever a crashed
process left behind; a row published but not marked is published again and JetStream's
duplicate window (plus the consumers' inbox) absorbs it."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete, func, select, update

from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory, is_sqlite
from salesgrid_common.events.envelope import parse_envelope
from salesgrid_common.events.outbox import OutboxSignal
from salesgrid_common.events.tables import outbox
from salesgrid_common.metrics import EVENTS_PUBLISHED, OUTBOX_BACKLOG, PUBLISH_FAILURES

log = logging.getLogger(__name__)


class Publisher(Protocol):
    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None: ...


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
        # Several replicas share one outbox on PostgreSQL: lock rows so each is sent by one.
        self._lock_rows = not is_sqlite(database_url)
        self._last_housekeeping = float("-inf")

    async def run(self) -> None:
        self.signal.bind()
        failures = 0
        while True:
            try:
                sent = await self.publish_pending()
                failures = 0
                if sent < self.batch_size:
                    await self.signal.wait(self.poll_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep retrying until acknowledged
                failures += 1
                PUBLISH_FAILURES.labels(self.service).inc()
                delay = min(self.max_backoff, 0.1 * 2**failures)
                log.warning("outbox publish failed, retrying", extra={"error": str(exc), "retry_in": delay})
                await asyncio.sleep(delay)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were acknowledged. On a failed publish the
        acknowledged part is committed and the error propagates so run() backs off."""
        sent, failure = await (self._publish_locked() if self._lock_rows else self._publish_unlocked())
        now = asyncio.get_running_loop().time()
        if failure is not None or now - self._last_housekeeping > 5.0:
            self._last_housekeeping = now
            await self._housekeeping()
        if failure is not None:
            raise failure
        return sent

    def _pending_query(self):  # type: ignore[no-untyped-def]
        return (select(outbox.c.event_id, outbox.c.subject, outbox.c.envelope)
                .where(outbox.c.published_at.is_(None)).order_by(outbox.c.event_id).limit(self.batch_size))

    async def _publish(self, row) -> None:  # type: ignore[no-untyped-def]
        envelope = parse_envelope(row.envelope)
        headers = {"Nats-Msg-Id": row.event_id, **dict(envelope.trace_context)}
        await self.publisher.publish(row.subject, row.envelope, headers)
        EVENTS_PUBLISHED.labels(row.subject).inc()

    @staticmethod
    def _failed(event_id: str, exc: Exception):  # type: ignore[no-untyped-def]
        return (update(outbox).where(outbox.c.event_id == event_id)
                .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:2000]))

    async def _publish_locked(self) -> tuple[int, Exception | None]:
        """PostgreSQL: rows locked (SKIP LOCKED) while being sent, so each replica sends its own."""
        sent = 0
        failure: Exception | None = None
        async with self.sessions() as session:
            rows = (await session.execute(self._pending_query().with_for_update(skip_locked=True))).all()
            for row in rows:
                try:
                    await self._publish(row)
                except Exception as exc:  # noqa: BLE001 - recorded on the row, re-raised by the caller
                    failure = exc
                    await session.execute(self._failed(row.event_id, exc))
                    break
                await session.execute(
                    update(outbox).where(outbox.c.event_id == row.event_id).values(published_at=self.clock()))
                sent += 1
            await session.commit()
        return sent, failure

    async def _publish_unlocked(self) -> tuple[int, Exception | None]:
        """SQLite (one process per database): read, publish, then mark in a short transaction.
        Holding the database's single write lock while JetStream acknowledges a whole batch would
        stall every writer of the service (seconds when a NATS node is down)."""
        async with self.sessions() as session:
            rows = (await session.execute(self._pending_query())).all()
        sent: list[str] = []
        failure: Exception | None = None
        for row in rows:
            try:
                await self._publish(row)
            except Exception as exc:  # noqa: BLE001 - recorded on the row, re-raised by the caller
                failure = exc
                break
            sent.append(row.event_id)
        if sent or failure is not None:
            async with self.sessions() as session, session.begin():
                if sent:
                    await session.execute(update(outbox).where(outbox.c.event_id.in_(sent))
                                          .values(published_at=self.clock()))
                if failure is not None:
                    await session.execute(self._failed(rows[len(sent)].event_id, failure))
        return len(sent), failure

    async def _housekeeping(self) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                delete(outbox).where(outbox.c.published_at < self.clock() - self.keep_published)
            )
            backlog = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        OUTBOX_BACKLOG.labels(self.service).set(backlog or 0)
