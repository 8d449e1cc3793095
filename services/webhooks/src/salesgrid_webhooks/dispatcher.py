"""Sends due deliveries: each one claimed with a compare-and-set lease on `next_attempt_at` (so
several replicas never send one attempt twice at once), sent in its own task under a global and a
per-endpoint concurrency cap (per URL, whichever subscriptions name it: a slow or dead endpoint
holds at most its own few slots, never the others'), signed per Standard Webhooks with every valid secret, the same webhook-id on every
attempt. A failure schedules the next attempt by the retry schedule; the last one marks the
delivery failed. A subscription failing for longer than allowed is disabled and an event tells
its owner (salesgrid.webhooks.subscription.disabled)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy import or_, select, update

from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionDisabled
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id

from salesgrid_webhooks.domain import retry, signing
from salesgrid_webhooks.models import AttemptRow, DeliveryRow, SubscriptionRow
from salesgrid_webhooks.settings import WebhooksSettings

log = logging.getLogger(__name__)
SYSTEM_ACTOR = "system:webhooks"


class Dispatcher:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, settings: WebhooksSettings, clock: Clock) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self.schedule = settings.schedule
        self.box = settings.secret_box()
        self.lease = timedelta(seconds=settings.request_timeout_seconds * 3 + 30)
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._per_endpoint: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.settings.request_timeout_seconds, follow_redirects=False) as client:
            try:
                while True:
                    try:
                        started = await self.tick(client)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("webhook dispatch failed")
                        started = 0
                    if not started:
                        await asyncio.sleep(self.settings.poll_interval_seconds)
                    else:
                        await asyncio.sleep(0)
            finally:
                for task in list(self._tasks):
                    task.cancel()

    async def tick(self, client: httpx.AsyncClient) -> int:
        """Claim and start what is due and has a free slot; returns how many were started."""
        now = self.clock()
        # Endpoints (URLs: several subscriptions to one URL share its slots) already at their cap
        # are left out of the query: a backlog of one slow endpoint (however many of its
        # deliveries are due first) never hides the others'.
        cap = self.settings.max_in_flight_per_endpoint
        saturated = [url for url, n in self._per_endpoint.items() if n >= cap]
        async with self.sessions() as session:
            query = (
                select(DeliveryRow.id, DeliveryRow.subscription_id, DeliveryRow.next_attempt_at, SubscriptionRow.url)
                .join(SubscriptionRow, SubscriptionRow.id == DeliveryRow.subscription_id)
                .where(
                    DeliveryRow.status == "pending",
                    DeliveryRow.next_attempt_at <= now,
                    SubscriptionRow.enabled.is_(True),
                    # nothing more leaves for an API key past its expiry
                    or_(SubscriptionRow.owner_expires_at.is_(None), SubscriptionRow.owner_expires_at > now),
                )
                .order_by(DeliveryRow.next_attempt_at)
                .limit(200)
            )
            if saturated:
                query = query.where(SubscriptionRow.url.not_in(saturated))
            due = (await session.execute(query)).all()
        started = 0
        for delivery_id, subscription_id, due_at, url in due:
            if self._per_endpoint.get(url, 0) >= cap:
                continue
            if self._slots.locked():
                break
            async with self.sessions() as session, session.begin():
                claimed = await session.execute(
                    update(DeliveryRow)
                    .where(
                        DeliveryRow.id == delivery_id,
                        DeliveryRow.status == "pending",
                        DeliveryRow.next_attempt_at == due_at,
                    )
                    .values(next_attempt_at=now + self.lease)
                )
            if claimed.rowcount != 1:
                continue  # another replica took it
            await self._slots.acquire()
            self._per_endpoint[url] = self._per_endpoint.get(url, 0) + 1
            task = asyncio.create_task(self._send(client, delivery_id, subscription_id, url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _send(self, client: httpx.AsyncClient, delivery_id: str, subscription_id: str, endpoint: str) -> None:
        try:
            async with self.sessions() as session:
                delivery = await session.get(DeliveryRow, delivery_id)
                sub = await session.get(SubscriptionRow, subscription_id)
            if delivery is None or sub is None:
                return
            now = self.clock()
            secrets = [self.box.open(sub.secret)]
            if sub.previous_secret and sub.previous_secret_expires_at and sub.previous_secret_expires_at > now:
                secrets.append(self.box.open(sub.previous_secret))
            body = delivery.body.encode()
            headers = signing.headers(secrets, delivery.id, int(time.time()), body)
            started = time.perf_counter()
            status_code, error = 0, ""
            try:
                reply = await client.post(sub.url, content=body, headers=headers)
                status_code = reply.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except httpx.TimeoutException:
                error = f"timed out after {self.settings.request_timeout_seconds:g}s"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            latency_ms = int((time.perf_counter() - started) * 1000)
            await self._record(delivery_id, subscription_id, status_code, latency_ms, error)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", delivery_id)
        finally:
            self._per_endpoint[endpoint] -= 1
            self._slots.release()

    async def _record(
        self, delivery_id: str, subscription_id: str, status_code: int, latency_ms: int, error: str
    ) -> None:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            delivery = await session.get(DeliveryRow, delivery_id)
            sub = await session.get(SubscriptionRow, subscription_id)
            assert delivery is not None and sub is not None
            delivery.attempts += 1
            session.add(
                AttemptRow(
                    id=new_id(),
                    delivery_id=delivery_id,
                    attempt=delivery.attempts,
                    at=now,
                    status_code=status_code,
                    latency_ms=latency_ms,
                    error=error,
                )
            )
            delivery.last_status_code, delivery.last_latency_ms, delivery.last_error = status_code, latency_ms, error
            if not error:
                delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
                sub.failing_since = None
                return
            delay = retry.delay_after(delivery.attempts, self.schedule)
            if delay is None:
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delivery.next_attempt_at = now + timedelta(seconds=delay)
            sub.failing_since = sub.failing_since or now
            failing_for = (now - sub.failing_since).total_seconds()
            if sub.enabled and failing_for >= self.settings.disable_after_failing_seconds:
                sub.enabled, sub.version = False, sub.version + 1
                sub.disabled_reason = f"deliveries failed for {failing_for / 86400:.1f} days (last: {error})"
                await self.outbox.record(
                    session,
                    "salesgrid.webhooks.subscription.disabled",
                    WebhookSubscriptionDisabled(
                        subscription_id=sub.id,
                        owner_id=sub.owner_id,
                        owner_kind=sub.owner_kind,
                        url=sub.url,
                        reason=sub.disabled_reason,
                        responsible_id=sub.responsible_id,
                    ),
                    EventMeta(aggregate_id=sub.id, actor_id=SYSTEM_ACTOR, org_path=sub.org_path),
                    now,
                )
