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
from typing import Any

from google.protobuf.message import Message
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import context as otel_context
from opentelemetry.trace import Link, SpanKind, get_current_span
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.bus import ensure_aggregate_stream
from salesgrid_common.events.envelope import (
    parse_envelope,
    payload_of,
)
from salesgrid_common.events.batches import BatchHandler, runs
from salesgrid_common.events.dead_letters import count_pending
from salesgrid_common.events.exactly_once import _MARK_APPLIED, _SEEN, apply_once, inbox_row, trace_carrier
from salesgrid_common.events.redelivery import RedeliveredEvents
from salesgrid_common.events.subscriptions import Handler, Subscription, Topology
from salesgrid_common.metrics import CONSUMER_LAG, DEAD_LETTERS, DEAD_LETTERS_PENDING, EVENTS_CONSUMED, PROJECTION_LAG
from salesgrid_common.tracing import context_from, exporting, tracer
from salesgrid_common.protos import from_timestamp

log = logging.getLogger(__name__)
_TRACER = tracer(__name__)

# Re-exported: services import these from here.
__all__ = ["EventConsumer", "Handler", "Subscription", "Topology", "apply_once", "inbox_row", "trace_carrier"]


ACK_WAIT_SECONDS = 2.0
# After a batch smaller than a full one (the consumer has caught up), wait this long before the
# next fetch, so that events committed meanwhile arrive as one batch: one fetch, one transaction
# and the batch forms for several events instead of each paying them alone. It bounds the extra
# projection lag; a consumer that is behind fetches full batches and never waits.
LINGER_SECONDS = 0.05
MAX_HEARTBEAT_SECONDS = 300.0  # a handler stuck longer than this is let go (redelivered)
PENDING_REFRESH_SECONDS = 30.0


class EventConsumer(RedeliveredEvents):
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
        linger: float = LINGER_SECONDS,
    ) -> None:
        self.sub = subscription
        self.js = js
        self.sessions = sessions
        self.batch = batch
        self.clock = clock
        self.topology = topology
        self.ack_wait = ack_wait
        self.linger = linger

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
            if len(messages) < self.batch and self.linger > 0:
                await asyncio.sleep(self.linger)

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
