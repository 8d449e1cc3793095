"""Durable pull consumers that apply each event exactly once.

A consumer is named `<consumer service>-<purpose>`, reads one producer's stream filtered to the
types it handles, acks explicitly, and is redelivered with back-off up to a bound; what still
fails is written to dead_letters and terminated. Each handler runs in a transaction that also
inserts the (consumer, event id) inbox row, so duplicates and redeliveries are absorbed.

The bound is the application's, not JetStream's: the durable consumer redelivers without limit
(JetStream's own max_deliver would silently stop redelivering an event whose consumer process
kept dying while holding it), and a delivery past the bound that earlier ones did not settle (a
crash loop, an OOM kill, a poison event that kills instead of raising) is dead-lettered without
running the handler. So every event ends applied or in dead_letters.

`ack_wait` is short (what a killed process held comes back within seconds); while a batch is
being handled every message of it still waiting gets an in-progress heartbeat, so a slow handler
is not redelivered under its own feet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from google.protobuf.message import Message
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import context as otel_context
from opentelemetry.trace import Link, SpanKind, get_current_span
from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory, conflict_insert
from salesgrid_common.dependencies import is_outage
from salesgrid_common.events.bus import ensure_aggregate_stream
from salesgrid_common.events.envelope import (
    aggregate_stream_name,
    parse_envelope,
    payload_of,
    producer_of,
    stream_name,
    subject_for,
)
from salesgrid_common.events.batches import BatchHandler, runs
from salesgrid_common.events.dead_letters import count_pending, record_dead_letter
from salesgrid_common.events.tables import inbox
from salesgrid_common.events.versions import count_attempt
from salesgrid_common.events.versions import forget_attempts as _forget_attempts
from salesgrid_common.metrics import CONSUMER_LAG, DEAD_LETTERS, DEAD_LETTERS_PENDING, EVENTS_CONSUMED, PROJECTION_LAG
from salesgrid_common.tracing import context_from, exporting, tracer
from salesgrid_common.protos import from_timestamp

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[object]]  # what it returns is not used


@dataclass
class Subscription:
    """What one durable consumer handles: event type → (payload class, handler)."""

    name: str  # <consumer service>-<purpose>
    producer: str  # the service whose stream is read
    # event type → (payload class, handler); the key `salesgrid.<producer>.>` catches every type
    # and its handler receives the raw payload bytes.
    handlers: dict[str, tuple[type[Message] | None, Handler]] = field(default_factory=dict)
    # the same keys → the set-based form of the handler (see events.batches), for a batch's runs
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    max_deliver: int = 6  # deliveries before an event is dead-lettered (enforced by the consumer)
    backoff_seconds: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)

    def on(self, event_type: str, payload_type: type[Message]) -> Callable[[Handler], Handler]:
        if producer_of(event_type) != self.producer:
            raise ValueError(f"{event_type} is not published by {self.producer}")

        def register(handler: Handler) -> Handler:
            self.handlers[event_type] = (payload_type, handler)
            return handler

        return register

    def on_any(self, handler: Handler) -> Handler:
        self.handlers[f"salesgrid.{self.producer}.>"] = (None, handler)
        return handler

    def on_batch(self, event_type: str) -> Callable[[BatchHandler], BatchHandler]:
        """The set-based form of the handler registered (first) for `event_type`: it receives a run
        of consecutive fresh events of the batch, in order, and must leave what the handler would
        leave applied to each in turn. The handler itself stays: redeliveries and a batch that
        failed are handled one by one with it."""
        if event_type not in self.handlers:
            raise ValueError(f"register the handler of {event_type} before its batch form")

        def register(handler: BatchHandler) -> BatchHandler:
            self.batch_handlers[event_type] = handler
            return handler

        return register

    def on_any_batch(self, handler: BatchHandler) -> BatchHandler:
        """The batch form of the `on_any` handler."""
        return self.on_batch(f"salesgrid.{self.producer}.>")(handler)

    def route(self, event_type: str) -> tuple[type[Message] | None, Handler] | None:
        return self.handlers.get(event_type) or self.handlers.get(f"salesgrid.{self.producer}.>")

    def batch_route(self, event_type: str) -> BatchHandler | None:
        """The batch form of the handler `route` picks, if it has one."""
        key = event_type if event_type in self.handlers else f"salesgrid.{self.producer}.>"
        return self.batch_handlers.get(key)


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
        claimed = await session.scalar(_claim(session.get_bind().dialect.name), inbox_row(consumer, envelope, clock))
        if claimed is None:
            return False
        await handler(session, envelope, payload)
    return True


# Built once (the values are bound at execution, so SQLAlchemy's compiled-statement cache is hit
# without computing a key from them on every event).
_SEEN = select(inbox.c.event_id).where(
    inbox.c.consumer == bindparam("consumer"), inbox.c.event_id.in_(bindparam("event_ids", expanding=True))
)
_MARK_APPLIED = insert(inbox)


@lru_cache(maxsize=4)
def _claim(dialect: str) -> Any:
    return conflict_insert(dialect)(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)


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


@dataclass(frozen=True)
class Topology:
    """Where a consumer reads: its own region's stream, or (at HQ) the aggregate stream that
    sources the producer's stream of every listed region. Empty: a single cell."""

    region: str = ""
    source_regions: tuple[str, ...] = ()
    replicas: int = 1

    def stream(self, producer: str) -> str:
        return aggregate_stream_name(producer) if self.source_regions else stream_name(producer, self.region)

    def filter_subject(self, event_type: str) -> str:
        # Sourced messages keep their regional subjects: match any region prefix.
        return f"*.{event_type}" if self.source_regions else subject_for(event_type, self.region)


ACK_WAIT_SECONDS = 2.0
MAX_HEARTBEAT_SECONDS = 300.0  # a handler stuck longer than this is let go (redelivered)
PENDING_REFRESH_SECONDS = 30.0


class EventConsumer:
    def __init__(
        self,
        subscription: Subscription,
        js: JetStreamContext,
        sessions: SessionFactory,
        *,
        batch: int = 200,
        clock: Clock = utc_now,
        topology: Topology = Topology(),
        ack_wait: float = ACK_WAIT_SECONDS,
    ) -> None:
        self.sub = subscription
        self.js = js
        self.sessions = sessions
        self.batch = batch
        self.clock = clock
        self.topology = topology
        self.ack_wait = ack_wait

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.sub.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=-1,  # unlimited: the bound is enforced in handle(), see the module text
            ack_wait=self.ack_wait,
            filter_subjects=sorted(self.topology.filter_subject(t) for t in self.sub.handlers),
        )

    async def _subscribe(self) -> Any:
        stream = self.topology.stream(self.sub.producer)
        if self.topology.source_regions:
            await ensure_aggregate_stream(
                self.js, self.sub.producer, list(self.topology.source_regions), self.topology.replicas
            )
        while True:
            try:
                await self.js.stream_info(stream)
                break
            except NotFoundError:
                # The producer declares its stream when it starts; wait for it rather than fail.
                await asyncio.sleep(0.5)
        await self.js.add_consumer(stream, self.config())  # create or update: idempotent
        return await self.js.pull_subscribe_bind(self.sub.name, stream=stream)

    async def run(self) -> None:
        DEAD_LETTERS.labels(self.sub.name)  # the series exists at 0 before the first dead letter
        psub = await self._subscribe()
        refreshed = float("-inf")
        while True:
            now = asyncio.get_running_loop().time()
            if now - refreshed > PENDING_REFRESH_SECONDS:
                refreshed = now
                await self._refresh_pending()
            try:
                messages = await psub.fetch(self.batch, timeout=1.0)
            except (TimeoutError, NatsTimeout):
                continue  # nothing pending
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("fetch failed; retrying", extra={"consumer": self.sub.name, "error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            waiting = list(messages)
            heartbeat = asyncio.create_task(self._heartbeat(waiting))
            try:
                leftovers = await self._handle_fresh_batch(messages, waiting)
                for msg in leftovers:
                    try:
                        await self.handle(msg)
                    except Exception as exc:
                        log.warning(
                            "event not handled; redelivering", extra={"consumer": self.sub.name, "error": repr(exc)}
                        )
                        with contextlib.suppress(Exception):
                            await msg.nak(delay=self.sub.backoff_seconds[0])
                    waiting.remove(msg)
                    CONSUMER_LAG.labels(self.sub.name).set(msg.metadata.num_pending)
            finally:
                heartbeat.cancel()

    async def _handle_fresh_batch(self, messages: list[Any], waiting: list[Any]) -> list[Any]:
        """Apply the batch's first deliveries in ONE transaction and ack them after its commit;
        returns the messages left for one-by-one handling: redeliveries (their attempts are
        counted first) and unreadable ones -- or the whole batch if any handler failed.

        One transaction per batch instead of per event is what makes a busy consumer cheap: one
        BEGIN/COMMIT, one inbox probe and one inbox insert for all of them, no savepoints; runs
        of consecutive events whose handler has a batch form (`Subscription.on_batch`) go to it
        in one call each, in the order fetched (events.batches). A
        handler that raises rolls the whole batch back, and every event of it is then handled
        alone, where failures are counted and retried as before; a process that dies inside it
        commits nothing, so the batch comes back as redeliveries and takes the same path, where
        a poison event is counted and isolated."""
        fresh: list[tuple[Any, Envelope, type[Message] | None, Handler]] = []
        leftovers: list[Any] = []
        for msg in messages:
            envelope = None
            if msg.metadata.num_delivered == 1:
                try:
                    envelope = parse_envelope(msg.data)
                except Exception:
                    envelope = None
            route = self.sub.route(envelope.type) if envelope is not None and envelope.event_id else None
            if route is None or envelope is None:
                leftovers.append(msg)
            else:
                fresh.append((msg, envelope, *route))
        if len(fresh) < 2:
            return list(messages)  # nothing to share: the one-by-one path is the same cost
        outcomes: list[tuple[Any, Envelope, str]] = []
        try:
            async with self.sessions() as session, session.begin():
                event_ids = [envelope.event_id for _, envelope, _, _ in fresh]
                seen = set(await session.scalars(_SEEN, {"consumer": self.sub.name, "event_ids": event_ids}))
                todo: list[tuple[Any, Envelope, Any, Handler]] = []
                for msg, envelope, payload_type, handler in fresh:
                    if envelope.event_id in seen:
                        outcomes.append((msg, envelope, "duplicate"))
                        continue
                    seen.add(envelope.event_id)
                    todo.append((msg, envelope, payload_of(envelope, payload_type), handler))
                    outcomes.append((msg, envelope, "applied"))
                for batch_handler, run in runs(todo, lambda item: self.sub.batch_route(item[1].type)):
                    if batch_handler is not None:
                        await self._apply_run(session, batch_handler, run)
                        continue
                    for msg, envelope, payload, handler in run:
                        token = otel_context.attach(context_from(trace_carrier(msg, envelope)))
                        try:
                            with self._span(envelope):
                                await handler(session, envelope, payload)
                        finally:
                            otel_context.detach(token)
                applied = [inbox_row(self.sub.name, envelope, self.clock) for _, envelope, _, _ in todo]
                if applied:
                    await session.execute(_MARK_APPLIED, applied)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler failed or the database is down: one by one
            log.warning(
                "batch not applied; handling its events one by one",
                extra={"consumer": self.sub.name, "error": repr(exc)},
            )
            return list(messages)
        # The metrics once per batch (per event they cost as much as a batch handler's share).
        counted = Counter((envelope.type, outcome) for _, envelope, outcome in outcomes)
        for (event_type, outcome), count in counted.items():
            EVENTS_CONSUMED.labels(self.sub.name, event_type, outcome).inc(count)
        lag = PROJECTION_LAG.labels(self.sub.name)
        now = self.clock()
        for msg, envelope, outcome in outcomes:
            if outcome == "applied" and envelope.HasField("occurred_at"):
                lag.observe(max((now - from_timestamp(envelope.occurred_at)).total_seconds(), 0.0))
            await self._ack(msg)
            waiting.remove(msg)
        CONSUMER_LAG.labels(self.sub.name).set(outcomes[-1][0].metadata.num_pending)
        return leftovers  # in the order fetched

    async def _apply_run(
        self, session: AsyncSession, handler: BatchHandler, run: list[tuple[Any, Envelope, Any, Handler]]
    ) -> None:
        """A run of events through its batch handler, in one span: a child of the first event's
        publish span, linked to the others' (when spans are exported)."""
        msg, first = run[0][0], run[0][1]
        token = otel_context.attach(context_from(trace_carrier(msg, first)))
        links = (
            [Link(get_current_span(context_from(trace_carrier(m, e))).get_span_context()) for m, e, _, _ in run[1:]]
            if exporting()
            else []
        )
        try:
            with _TRACER.start_as_current_span(
                f"consume {first.type}",
                kind=SpanKind.CONSUMER,
                links=links,
                attributes={
                    "messaging.system": "nats",
                    "messaging.consumer.group.name": self.sub.name,
                    "messaging.batch.message_count": len(run),
                    "messaging.destination.name": first.type,
                },
            ):
                await handler(session, [(envelope, payload) for _, envelope, payload, _ in run])
        finally:
            otel_context.detach(token)

    def _span(self, envelope: Envelope) -> Any:
        """The handling span (CONSUMER), current while the handler runs: a child of the relay's
        publish span (see trace_carrier, attached by the caller)."""
        return _TRACER.start_as_current_span(
            f"consume {envelope.type}",
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.sub.name,
                "messaging.message.id": envelope.event_id,
                "messaging.destination.name": envelope.type,
            },
        )

    def _observe_lag(self, envelope: Envelope) -> None:
        """Commit → projection: from the event's commit (its occurred_at, stamped in the producer's
        transaction) to this consumer having applied it."""
        if envelope.HasField("occurred_at"):
            lag = (self.clock() - from_timestamp(envelope.occurred_at)).total_seconds()
            PROJECTION_LAG.labels(self.sub.name).observe(max(lag, 0.0))

    async def _ack(self, msg: Any) -> None:
        await msg.ack()

    async def _heartbeat(self, waiting: list[Any]) -> None:
        """Tell JetStream every message of the batch still waiting is in progress, a few times per
        ack_wait, so only a dead process's messages come back after ack_wait."""
        started = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - started < MAX_HEARTBEAT_SECONDS:
            await asyncio.sleep(self.ack_wait / 3)
            for msg in list(waiting):
                try:
                    await msg.in_progress()
                except Exception:
                    return

    async def _refresh_pending(self) -> None:
        try:
            DEAD_LETTERS_PENDING.labels(self.sub.name).set(await count_pending(self.sessions, self.sub.name))
        except Exception as exc:
            log.warning("could not count dead letters", extra={"consumer": self.sub.name, "error": repr(exc)})

    async def handle(self, msg: Any) -> None:
        try:
            envelope = parse_envelope(msg.data)
        except Exception as exc:
            await self._dead_letter(msg, None, exc)
            return
        route = self.sub.route(envelope.type)
        if route is None:
            await msg.ack()
            return
        payload_type, handler = route
        # Attempt 1 is the first delivery; a redelivery is counted in the database before the
        # handler runs, so a process that dies inside the handler is counted too, while
        # batch-mates it never reached are not (see events.versions.count_attempt).
        attempt = 1
        if msg.metadata.num_delivered > 1 and envelope.event_id:
            attempt = 1 + await count_attempt(self.sessions, self.sub.name, envelope.event_id)
        if attempt > self.sub.max_deliver:
            # Earlier attempts were neither acked nor nak'ed: the process died holding the event.
            await self._dead_letter(
                msg,
                envelope,
                RuntimeError(
                    f"handling started {attempt - 1} times without an outcome (the consumer process died while "
                    f"handling it: crash loop, OOM kill or an event that kills the process?)"
                ),
            )
            return
        token = otel_context.attach(context_from(trace_carrier(msg, envelope)))
        try:
            with self._span(envelope):
                applied = await apply_once(
                    self.sessions,
                    self.sub.name,
                    envelope,
                    handler,
                    payload_of(envelope, payload_type),
                    self.clock,
                    forget_attempts=attempt > 1,
                )
            EVENTS_CONSUMED.labels(self.sub.name, envelope.type, "applied" if applied else "duplicate").inc()
            if applied:
                self._observe_lag(envelope)
            await self._ack(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            EVENTS_CONSUMED.labels(self.sub.name, envelope.type, "failed").inc()
            if is_outage(exc):
                # The database is down or busy, not the event bad: retry without counting it.
                with contextlib.suppress(Exception):
                    async with self.sessions() as session, session.begin():
                        await _forget_attempts(session, self.sub.name, envelope.event_id)
                delay = self.sub.backoff_seconds[min(1, len(self.sub.backoff_seconds) - 1)]
                log.warning(
                    "database unavailable; redelivering",
                    extra={
                        "consumer": self.sub.name,
                        "event_id": envelope.event_id,
                        "error": str(exc),
                        "retry_in": delay,
                    },
                )
                await msg.nak(delay=delay)
            elif attempt >= self.sub.max_deliver:
                await self._dead_letter(msg, envelope, exc)
            else:
                delay = self.sub.backoff_seconds[min(attempt, len(self.sub.backoff_seconds)) - 1]
                log.warning(
                    "event handler failed; redelivering",
                    extra={
                        "consumer": self.sub.name,
                        "event_id": envelope.event_id,
                        "error": str(exc),
                        "retry_in": delay,
                    },
                )
                await msg.nak(delay=delay)
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, msg: Any, envelope: Envelope | None, exc: Exception) -> None:
        outcome = await record_dead_letter(
            self.sessions, self.sub.name, msg.subject, msg.data, envelope, exc, msg.metadata.num_delivered, self.clock()
        )
        if outcome == "applied":
            await msg.ack()  # an earlier delivery applied it and its ack was lost
            return
        if outcome == "written":
            log.error("event dead-lettered", extra={"consumer": self.sub.name, "error": str(exc)})
            DEAD_LETTERS.labels(self.sub.name).inc()
            DEAD_LETTERS_PENDING.labels(self.sub.name).inc()
        await msg.term()
