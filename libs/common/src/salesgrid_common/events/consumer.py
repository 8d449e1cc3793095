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

A message may be a pack of several events (events.packs): the batch path (events.fresh_batches)
and the one-by-one path (events.redelivery) both handle its events one event id at a time.

`ack_wait` is short (what a killed process held comes back within seconds); while a batch is
being handled every message of it still waiting gets an in-progress heartbeat, so a slow handler
is not redelivered under its own feet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry.trace import SpanKind

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.bus import ensure_aggregate_stream
from salesgrid_common.events.dead_letters import count_pending
from salesgrid_common.events.exactly_once import apply_once, inbox_row, trace_carrier
from salesgrid_common.events.fresh_batches import FreshBatches
from salesgrid_common.events.pull import fetch
from salesgrid_common.events.redelivery import RedeliveredEvents
from salesgrid_common.events.subscriptions import Handler, Subscription, Topology
from salesgrid_common.metrics import CONSUMER_LAG, DEAD_LETTERS, DEAD_LETTERS_PENDING, PROJECTION_LAG
from salesgrid_common.tracing import exporting, tracer
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
# How long one pull request lingers when nothing is pending. Events are handed over the moment they
# arrive whatever this is; it only sets how often an idle consumer asks again (each time a no-wait
# request and a lingering one: server work and a wake-up of the service). The idle embedded
# platform (~40 consumers) used 131-158 ms of CPU per second at 1 s, nats-server 31-37 of them;
# at 5 s, 68-91 ms, nats-server 7-10 (two runs each): CPU that a busy read load, which wakes no
# consumer, gets back. After nats-server itself restarts, a request it forgot is renewed within
# this time.
FETCH_WAIT_SECONDS = 5.0
MAX_HEARTBEAT_SECONDS = 300.0  # a handler stuck longer than this is let go (redelivered)
PENDING_REFRESH_SECONDS = 30.0


class EventConsumer(FreshBatches, RedeliveredEvents):
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

    async def _subscribe_when_ready(self) -> Any:
        """Subscribe, retrying while NATS cannot answer (a node down, a leader being elected): a
        consumer that gave up at start would never apply an event."""
        delay = 0.5
        while True:
            try:
                return await self._subscribe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("subscribe failed; retrying", extra={"consumer": self.sub.name, "error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def run(self) -> None:
        DEAD_LETTERS.labels(self.sub.name)  # the series exists at 0 before the first dead letter
        psub = await self._subscribe_when_ready()
        refreshed = float("-inf")
        while True:
            now = asyncio.get_running_loop().time()
            if now - refreshed > PENDING_REFRESH_SECONDS:
                refreshed = now
                await self._refresh_pending()
            try:
                messages = await fetch(psub, self.batch, timeout=FETCH_WAIT_SECONDS)
            except (TimeoutError, NatsTimeout):
                continue  # nothing pending
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("fetch failed; retrying", extra={"consumer": self.sub.name, "error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            waiting = list(messages)
            # The heartbeat starts only if the batch is still being handled a third of ack_wait
            # later (a timer, not a task per fetch: most batches are done long before).
            beating: list[asyncio.Task[None]] = []
            timer = asyncio.get_running_loop().call_later(self.ack_wait / 3, self._start_heartbeat, waiting, beating)
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
                timer.cancel()
                for task in beating:
                    task.cancel()
            if len(messages) < self.batch and self.linger > 0:
                await asyncio.sleep(self.linger)

    def _span(self, envelope: Envelope) -> Any:
        """The handling span (CONSUMER), current while the handler runs: a child of the relay's
        publish span (see trace_carrier, attached by the caller). A process that exports no
        spans makes none: the attached publisher's context stays current, and what the handler
        records carries it on, as a non-recording span would (its trace id)."""
        if not exporting():
            return contextlib.nullcontext()
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

    def _start_heartbeat(self, waiting: list[Any], beating: list[asyncio.Task[None]]) -> None:
        beating.append(asyncio.ensure_future(self._heartbeat(waiting)))

    async def _heartbeat(self, waiting: list[Any]) -> None:
        """Tell JetStream every message of the batch still waiting is in progress, now and a few
        times per ack_wait, so only a dead process's messages come back after ack_wait."""
        started = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - started < MAX_HEARTBEAT_SECONDS:
            for msg in list(waiting):
                try:
                    await msg.in_progress()
                except Exception:
                    return
            await asyncio.sleep(self.ack_wait / 3)

    async def _refresh_pending(self) -> None:
        try:
            DEAD_LETTERS_PENDING.labels(self.sub.name).set(await count_pending(self.sessions, self.sub.name))
        except Exception as exc:
            log.warning("could not count dead letters", extra={"consumer": self.sub.name, "error": repr(exc)})
