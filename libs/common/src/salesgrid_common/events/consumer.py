"""Durable pull consumers that apply each event exactly once.

A consumer is named `<consumer service>-<purpose>`, reads one producer's stream filtered to the
types it handles, acks explicitly, and is redelivered with back-off up to a bound; what still
fails is written to dead_letters and terminated. Each handler runs in a transaction that also
inserts the (consumer, event id) inbox row, so duplicates and redeliveries are absorbed."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import context as otel_context
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import Clock, utc_now
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.bus import ensure_aggregate_stream
from salesgrid_common.events.envelope import (aggregate_stream_name, parse_envelope, producer_of, stream_name,
                                              subject_for, unpack)
from salesgrid_common.events.tables import dead_letters, inbox
from salesgrid_common.ids import new_id
from salesgrid_common.metrics import CONSUMER_LAG, DEAD_LETTERS, EVENTS_CONSUMED
from salesgrid_common.tracing import context_from, tracer

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[None]]


@dataclass
class Subscription:
    """What one durable consumer handles: event type → (payload class, handler)."""

    name: str  # <consumer service>-<purpose>
    producer: str  # the service whose stream is read
    # event type → (payload class, handler); the key `salesgrid.<producer>.>` catches every type
    # and its handler receives the raw payload bytes.
    handlers: dict[str, tuple[type[Message] | None, Handler]] = field(default_factory=dict)
    max_deliver: int = 6
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

    def route(self, event_type: str) -> tuple[type[Message] | None, Handler] | None:
        return self.handlers.get(event_type) or self.handlers.get(f"salesgrid.{self.producer}.>")


async def apply_once(sessions: SessionFactory, consumer: str, envelope: Envelope, handler: Handler, payload: Any,
                     clock: Clock = utc_now) -> bool:
    """Run the handler and record the inbox row in one transaction. False if already applied."""
    async with sessions() as session, session.begin():
        seen = await session.scalar(
            select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == envelope.event_id)
        )
        if seen is not None:
            return False
        await session.execute(
            insert(inbox).values(
                consumer=consumer, event_id=envelope.event_id, event_type=envelope.type, processed_at=clock()
            )
        )
        await handler(session, envelope, payload)
    return True


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


class EventConsumer:
    def __init__(self, subscription: Subscription, js: JetStreamContext, sessions: SessionFactory,
                 *, batch: int = 50, clock: Clock = utc_now, topology: Topology = Topology()) -> None:
        self.sub = subscription
        self.js = js
        self.sessions = sessions
        self.batch = batch
        self.clock = clock
        self.topology = topology

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.sub.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=self.sub.max_deliver,
            ack_wait=60.0,
            filter_subjects=sorted(self.topology.filter_subject(t) for t in self.sub.handlers),
        )

    async def _subscribe(self) -> Any:
        stream = self.topology.stream(self.sub.producer)
        if self.topology.source_regions:
            await ensure_aggregate_stream(self.js, self.sub.producer, list(self.topology.source_regions),
                                          self.topology.replicas)
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
        psub = await self._subscribe()
        while True:
            try:
                messages = await psub.fetch(self.batch, timeout=1.0)
            except (NatsTimeout, asyncio.TimeoutError):
                continue  # nothing pending
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a consumer must outlive NATS hiccups
                log.warning("fetch failed; retrying", extra={"consumer": self.sub.name, "error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            for msg in messages:
                await self.handle(msg)
                CONSUMER_LAG.labels(self.sub.name).set(msg.metadata.num_pending)

    async def handle(self, msg: Any) -> None:
        try:
            envelope = parse_envelope(msg.data)
        except Exception as exc:  # noqa: BLE001 - unreadable data can never succeed
            await self._dead_letter(msg, None, exc)
            return
        route = self.sub.route(envelope.type)
        if route is None:
            await msg.ack()
            return
        payload_type, handler = route
        token = otel_context.attach(context_from(dict(envelope.trace_context)))
        try:
            with tracer(__name__).start_as_current_span(f"consume {envelope.type}"):
                applied = await apply_once(self.sessions, self.sub.name, envelope, handler,
                                           unpack(envelope, payload_type) if payload_type else envelope.payload,
                                           self.clock)
            EVENTS_CONSUMED.labels(self.sub.name, envelope.type, "applied" if applied else "duplicate").inc()
            await msg.ack()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - retried with back-off, then dead-lettered
            deliveries = msg.metadata.num_delivered
            EVENTS_CONSUMED.labels(self.sub.name, envelope.type, "failed").inc()
            if deliveries >= self.sub.max_deliver:
                await self._dead_letter(msg, envelope, exc)
            else:
                delay = self.sub.backoff_seconds[min(deliveries, len(self.sub.backoff_seconds)) - 1]
                log.warning("event handler failed; redelivering", extra={
                    "consumer": self.sub.name, "event_id": envelope.event_id, "error": str(exc), "retry_in": delay})
                await msg.nak(delay=delay)
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, msg: Any, envelope: Envelope | None, exc: Exception) -> None:
        log.error("event dead-lettered", extra={"consumer": self.sub.name, "error": str(exc)})
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert(dead_letters).values(
                    id=new_id(),
                    consumer=self.sub.name,
                    event_id=envelope.event_id if envelope else "",
                    event_type=envelope.type if envelope else "",
                    subject=msg.subject,
                    envelope=msg.data,
                    error=repr(exc)[:4000],
                    deliveries=msg.metadata.num_delivered,
                    failed_at=self.clock(),
                )
            )
        DEAD_LETTERS.labels(self.sub.name).inc()
        await msg.term()
