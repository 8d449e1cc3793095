"""A slow endpoint's backlog never holds up other subscribers (SQLite and PostgreSQL, the real HTTP
receiver): with far more of its deliveries due, and due earlier, than one dispatch query reads,
a fast endpoint's delivery is still sent at once, while the slow one gets only its own slots --
the same few however many subscriptions name its URL."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import utc_now
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import bearer, eventually, principal
from salesgrid_dev.webhook_receiver import running_receiver
from salesgrid_webhooks.models import DeliveryRow

from webhooks_fixtures import webhooks

ADMIN = {"webhooks:read": "all", "webhooks:create": "all", "customers:read": "all"}
BACKLOG = 260  # more than the 200 due deliveries one dispatch query reads
PER_ENDPOINT = 2


def pending(subscription_id: str, due_at: Any) -> DeliveryRow:
    return DeliveryRow(
        id=new_id(),
        subscription_id=subscription_id,
        event_id=new_id(),
        event_type="salesgrid.customers.customer.created",
        body='{"type":"salesgrid.customers.customer.created"}',
        status="pending",
        attempts=0,
        next_attempt_at=due_at,
        last_status_code=0,
        last_latency_ms=0,
        last_error="",
        created_at=due_at,
        delivered_at=None,
    )


async def _true(value: Any) -> Any:
    return value


async def test_a_slow_endpoints_backlog_never_delays_another_subscriber(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    with running_receiver() as receiver:
        receiver.scripts["/slow"] = ["hang"]  # every message: 1.5 s before its 200
        async with webhooks(
            database_url,
            nats_url,
            test_keys,
            poll_interval_seconds=0.05,
            request_timeout_seconds=5,
            max_in_flight_per_endpoint=PER_ENDPOINT,
            allow_http_endpoints=True,
        ) as running:
            stub = pb_grpc.WebhooksStub(running.channel)
            admin = bearer(test_keys.token(principal("admin-1", "/c/", permissions=ADMIN)))
            subs = {}
            for name, path in (("/slow", "/slow"), ("/slow-2", "/slow"), ("/fast", "/fast")):
                created = await stub.CreateSubscription(
                    pb.CreateSubscriptionRequest(
                        url=receiver.url + path, event_types=["salesgrid.customers.customer.*"]
                    ),
                    metadata=admin,
                )
                subs[name] = created.subscription.id
                receiver.secrets.setdefault(path, []).append(created.secret)
            now = utc_now()
            async with running.app.ctx.sessions() as session, session.begin():
                for i in range(BACKLOG):  # all due before the fast endpoint's one
                    for slow in ("/slow", "/slow-2"):
                        session.add(pending(subs[slow], now - timedelta(minutes=10) + timedelta(milliseconds=i)))
                session.add(pending(subs["/fast"], now - timedelta(minutes=1)))
            started = time.monotonic()

            await eventually(lambda: _true(receiver.at("/fast")), timeout=10)
            waited = receiver.at("/fast")[0]["at"] - started
            assert waited < 3.0, f"the fast endpoint waited {waited:.1f}s behind the slow one's backlog"
            assert receiver.at("/fast")[0]["verified"] == {receiver.secrets["/fast"][0]: True}
            # The slow endpoint had its own slots only, shared by both subscriptions naming it: at
            # most PER_ENDPOINT requests in flight (each is held 1.5 s).
            await eventually(lambda: _true(len(receiver.at("/slow")) > PER_ENDPOINT), timeout=10)
            arrivals = sorted(r["at"] for r in receiver.at("/slow"))
            in_first_hold = [t for t in arrivals if t < arrivals[0] + 1.4]
            assert len(in_first_hold) == PER_ENDPOINT, arrivals[: 2 * PER_ENDPOINT + 1]
