"""The batch path of a consumer: a fetch's first deliveries applied in one transaction per
`batch` events, runs of one handler's events through its batch form (events.batches), a pack's
events (events.packs) as if each had come alone. A mixin of EventConsumer (events.consumer);
what it leaves goes one by one (events.redelivery)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any

from google.protobuf.message import Message
from opentelemetry import context as otel_context
from opentelemetry.trace import Link, SpanKind, get_current_span
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.batches import BatchHandler, runs
from salesgrid_common.events.envelope import parse_envelope, payload_of
from salesgrid_common.events.exactly_once import claim_many, inbox_row, trace_carrier
from salesgrid_common.events.packs import Packed, chunks, unpack_message
from salesgrid_common.events.subscriptions import Handler
from salesgrid_common.metrics import CONSUMER_LAG, EVENTS_CONSUMED, PROJECTION_LAG
from salesgrid_common.protos import from_timestamp
from salesgrid_common.tracing import context_from, exporting, tracer

log = logging.getLogger("salesgrid_common.events.consumer")
_TRACER = tracer("salesgrid_common.events.consumer")

_Fresh = tuple[Packed, Envelope, type[Message] | None, Handler]  # an event of a first delivery, routed


class FreshBatches:
    """_handle_fresh_batch(messages, waiting). Uses the consumer's sub, sessions, clock, batch,
    _span and _ack."""

    sub: Any
    sessions: Any
    clock: Any
    batch: int

    def _span(self, envelope: Envelope) -> Any:
        raise NotImplementedError

    async def _ack(self, msg: Any) -> None:
        raise NotImplementedError

    async def _handle_fresh_batch(self, messages: list[Any], waiting: list[Any]) -> list[Any]:
        """Apply the batch's first deliveries in ONE transaction (per `batch` events: a pack
        carries many, events.packs) and ack them after its commit; returns the messages left
        for one-by-one handling: redeliveries (their attempts are counted first) and unreadable
        ones -- or, from the first transaction that failed on, every message not yet acked.

        One transaction per batch instead of per event is what makes a busy consumer cheap: one
        BEGIN/COMMIT and one inbox statement (the claim, exactly_once.claim_many) for all of
        them, no savepoints; runs of consecutive events whose handler has a batch form
        (`Subscription.on_batch`) go to it in one call each, in the order fetched
        (events.batches), a pack's events as if each had come alone. A handler that raises rolls the whole transaction back, and every event of
        it is then handled alone, where failures are counted and retried as before; a process
        that dies inside it commits nothing, so the batch comes back as redeliveries and takes
        the same path, where a poison event is counted and isolated."""
        fresh: list[tuple[Any, list[_Fresh]]] = []
        leftovers: list[Any] = []
        for msg in messages:
            events = self._fresh_events(msg)
            if events is None:
                leftovers.append(msg)
            else:
                fresh.append((msg, events))
        if sum(len(events) for _, events in fresh) < 2:
            return list(messages)  # nothing to share: the one-by-one path is the same cost
        acked: set[int] = set()
        for chunk in chunks(fresh, lambda item: len(item[1]), self.batch):
            if not await self._apply_fresh(chunk, waiting):
                return [msg for msg in messages if id(msg) not in acked]  # in the order fetched
            acked.update(id(msg) for msg, _ in chunk)
        return leftovers  # in the order fetched

    def _fresh_events(self, msg: Any) -> list[_Fresh] | None:
        """A first delivery's events with their routes; None if it is a redelivery, unreadable,
        or carries an event this subscription does not handle (the one-by-one path settles it)."""
        if msg.metadata.num_delivered != 1:
            return None
        out: list[_Fresh] = []
        try:
            for event in unpack_message(msg.data, getattr(msg, "headers", None)):
                envelope = parse_envelope(event.data)
                route = self.sub.route(envelope.type)
                if route is None:
                    return None
                out.append((event, envelope, *route))
        except Exception:
            return None
        return out

    async def _apply_fresh(self, chunk: list[tuple[Any, list[_Fresh]]], waiting: list[Any]) -> bool:
        """One transaction for the chunk's events, then its messages acked; False if it failed."""
        outcomes: list[tuple[Envelope, str]] = []
        try:
            async with self.sessions() as session, session.begin():
                fresh = [item for _, events in chunk for item in events]
                first: dict[str, Envelope] = {}  # per event id, its first delivery in the chunk
                for _, envelope, _, _ in fresh:
                    first.setdefault(envelope.event_id, envelope)
                # The inbox rows first, in one statement: what comes back was not applied before
                # (in the transaction: rolled back with the handlers if one fails).
                rows = [inbox_row(self.sub.name, envelope, self.clock) for envelope in first.values()]
                claimed = await claim_many(session, rows)
                todo: list[tuple[Packed, Envelope, Any, Handler]] = []
                for event, envelope, payload_type, handler in fresh:
                    if envelope.event_id not in claimed or first[envelope.event_id] is not envelope:
                        outcomes.append((envelope, "duplicate"))
                        continue
                    todo.append((event, envelope, payload_of(envelope, payload_type), handler))
                    outcomes.append((envelope, "applied"))
                for batch_handler, run in runs(todo, lambda item: self.sub.batch_route(item[1].type)):
                    if batch_handler is not None:
                        await self._apply_run(session, batch_handler, run)
                        continue
                    for event, envelope, payload, handler in run:
                        token = otel_context.attach(context_from(trace_carrier(event, envelope)))
                        try:
                            with self._span(envelope):
                                await handler(session, envelope, payload)
                        finally:
                            otel_context.detach(token)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler failed or the database is down: one by one
            log.warning(
                "batch not applied; handling its events one by one",
                extra={"consumer": self.sub.name, "error": repr(exc)},
            )
            return False
        # The metrics once per batch (per event they cost as much as a batch handler's share).
        counted = Counter((envelope.type, outcome) for envelope, outcome in outcomes)
        for (event_type, outcome), count in counted.items():
            EVENTS_CONSUMED.labels(self.sub.name, event_type, outcome).inc(count)
        lag = PROJECTION_LAG.labels(self.sub.name)
        now = self.clock()
        for envelope, outcome in outcomes:
            if outcome == "applied" and envelope.HasField("occurred_at"):
                lag.observe(max((now - from_timestamp(envelope.occurred_at)).total_seconds(), 0.0))
        for msg, _ in chunk:
            await self._ack(msg)
            waiting.remove(msg)
        CONSUMER_LAG.labels(self.sub.name).set(chunk[-1][0].metadata.num_pending)
        return True

    async def _apply_run(
        self, session: AsyncSession, handler: BatchHandler, run: list[tuple[Packed, Envelope, Any, Handler]]
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
