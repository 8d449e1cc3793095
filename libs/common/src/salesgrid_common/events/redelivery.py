"""The one-by-one path of a consumer: redeliveries (their attempts counted in the database before
the handler runs), events a failed batch sent back, unreadable messages; past the bound, the
dead-letter table. A mixin of EventConsumer (events.consumer).

A pack (events.packs) is handled event by event with the same rules, each with its own inbox
row, attempt counter and dead letter; the message is settled once for all of them: nak'ed (the
shortest back-off asked) while any event is to be retried, else acked (terminated if every event
was dead-lettered). Its events already applied or dead-lettered are skipped first (one query),
so a healthy neighbour of a poison event is applied once and never counted, and the poison
event alone reaches the bound and the dead-letter table."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from opentelemetry import context as otel_context

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.dependencies import is_outage
from salesgrid_common.events.dead_letters import record_dead_letter, settled_events
from salesgrid_common.events.envelope import parse_envelope, payload_of
from salesgrid_common.events.exactly_once import apply_once, trace_carrier
from salesgrid_common.events.packs import Packed, unpack_message
from salesgrid_common.events.versions import count_attempt
from salesgrid_common.events.versions import forget_attempts as _forget_attempts
from salesgrid_common.metrics import DEAD_LETTERS, DEAD_LETTERS_PENDING, EVENTS_CONSUMED
from salesgrid_common.tracing import context_from

log = logging.getLogger("salesgrid_common.events.consumer")

Verdict = str | float  # "ack", "term", or the delay of a nak


class RedeliveredEvents:
    """handle(msg): one event in its own transaction. Uses the consumer's sub, sessions, clock,
    _span, _observe_lag and _ack."""

    sub: Any
    sessions: Any
    clock: Any

    def _span(self, envelope: Envelope) -> Any:
        raise NotImplementedError

    def _observe_lag(self, envelope: Envelope) -> None:
        raise NotImplementedError

    async def _ack(self, msg: Any) -> None:
        raise NotImplementedError

    async def handle(self, msg: Any) -> None:
        try:
            events = unpack_message(msg.data, getattr(msg, "headers", None))
        except Exception as exc:
            await self._finish(msg, [await self._dead_letter(msg, Packed(msg.data, {}), None, exc)])
            return
        if len(events) > 1:
            settled = await settled_events(self.sessions, self.sub.name, [_event_id(e.data) for e in events])
            events = [e for e in events if _event_id(e.data) not in settled]
        await self._finish(msg, [await self._handle_event(msg, event) for event in events])

    async def _finish(self, msg: Any, verdicts: list[Verdict]) -> None:
        delays = [v for v in verdicts if isinstance(v, float)]
        if delays:
            await msg.nak(delay=min(delays))
        elif verdicts and all(v == "term" for v in verdicts):
            await msg.term()
        else:
            await self._ack(msg)

    async def _handle_event(self, msg: Any, event: Packed) -> Verdict:
        try:
            envelope = parse_envelope(event.data)
        except Exception as exc:
            return await self._dead_letter(msg, event, None, exc)
        route = self.sub.route(envelope.type)
        if route is None:
            return "ack"
        payload_type, handler = route
        # Attempt 1 is the first delivery; a redelivery is counted in the database before the
        # handler runs, so a process that dies inside the handler is counted too, while
        # batch-mates it never reached are not (see events.versions.count_attempt).
        attempt = 1
        if msg.metadata.num_delivered > 1 and envelope.event_id:
            attempt = 1 + await count_attempt(self.sessions, self.sub.name, envelope.event_id)
        if attempt > self.sub.max_deliver:
            # Earlier attempts were neither acked nor nak'ed: the process died holding the event.
            return await self._dead_letter(
                msg,
                event,
                envelope,
                RuntimeError(
                    f"handling started {attempt - 1} times without an outcome (the consumer process died while "
                    f"handling it: crash loop, OOM kill or an event that kills the process?)"
                ),
            )
        token = otel_context.attach(context_from(trace_carrier(event, envelope)))
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
            return "ack"
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
                return float(delay)
            if attempt >= self.sub.max_deliver:
                return await self._dead_letter(msg, event, envelope, exc)
            delay = self.sub.backoff_seconds[min(attempt, len(self.sub.backoff_seconds)) - 1]
            log.warning(
                "event handler failed; redelivering",
                extra={"consumer": self.sub.name, "event_id": envelope.event_id, "error": str(exc), "retry_in": delay},
            )
            return float(delay)
        finally:
            otel_context.detach(token)

    async def _dead_letter(self, msg: Any, event: Packed, envelope: Envelope | None, exc: Exception) -> Verdict:
        outcome = await record_dead_letter(
            self.sessions,
            self.sub.name,
            msg.subject,
            event.data,
            envelope,
            exc,
            msg.metadata.num_delivered,
            self.clock(),
        )
        if outcome == "applied":
            return "ack"  # an earlier delivery applied it and its ack was lost
        if outcome == "written":
            log.error("event dead-lettered", extra={"consumer": self.sub.name, "error": str(exc)})
            DEAD_LETTERS.labels(self.sub.name).inc()
            DEAD_LETTERS_PENDING.labels(self.sub.name).inc()
        return "term"


def _event_id(data: bytes) -> str:
    try:
        return parse_envelope(data).event_id
    except Exception:
        return ""
