"""The fan-out's batch form (a run of events with the enabled subscriptions read once, as the
consumer hands over an import's customers) makes the deliveries the one-by-one handler makes:
per event in order, only for subscriptions that name the type and whose owner reads the record;
a key found expired is disabled (one new version) at its first event of the run and gets nothing
after it (SQLite
and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import principal
from salesgrid_webhooks.fanout import KEY_EXPIRED, subscriptions
from salesgrid_webhooks.models import DeliveryRow, SubscriptionRow

from webhooks_fixtures import PARTNER, subscribe, webhooks

START = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CREATED = "salesgrid.customers.customer.created"


async def test_a_run_makes_each_events_deliveries_in_order(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    clock = FakeClock(START)
    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True, clock=clock) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        expiry = (START + timedelta(hours=1)).timestamp()
        owners = {
            "expiring": principal("key-exp", "/c/e/", permissions=PARTNER, kind="api_key", key_expires_at=expiry),
            "person": principal("user-1", "/c/k/", permissions=PARTNER),
            "other": principal("user-2", "/c/e/", permissions=PARTNER),
        }
        names = await subscribe(stub, test_keys, owners, [CREATED])
        fanout = next(s for s in subscriptions(clock) if s.name == "webhooks-fanout-customers")
        batch = fanout.batch_route(CREATED)
        assert batch is not None
        sessions = running.app.ctx.sessions

        async def run(*org_paths: str) -> list[str]:
            items = []
            for n, org_path in enumerate(org_paths):
                state = CustomerRecordState(customer_id=f"c{n}", org_path=org_path)
                envelope = build_envelope(
                    CREATED, "customers", state, EventMeta(aggregate_id=f"c{n}", org_path=org_path), clock(), 1
                )
                items.append((envelope, envelope.payload))
            async with sessions() as session, session.begin():
                await batch(session, items)
            return [envelope.event_id for envelope, _ in items]

        async def deliveries() -> list[tuple[str, str]]:
            async with sessions() as session:
                rows = (await session.scalars(select(DeliveryRow).order_by(DeliveryRow.id))).all()
            return [(names[row.subscription_id], row.event_id) for row in rows]

        e1, e2, e3 = await run("/c/e/x/", "/c/k/", "/c/e/x/")
        assert await deliveries() == [
            ("expiring", e1),
            ("other", e1),
            ("person", e2),
            ("expiring", e3),
            ("other", e3),
        ]
        async with sessions() as session:
            versions = {names[r.id]: r.version for r in await session.scalars(select(SubscriptionRow))}
        clock.advance(timedelta(hours=2))  # the key has expired
        e4, e5 = await run("/c/e/x/", "/c/e/x/")
        assert (await deliveries())[5:] == [("other", e4), ("other", e5)]
        async with sessions() as session:
            states = {
                names[r.id]: (r.enabled, r.disabled_reason) for r in await session.scalars(select(SubscriptionRow))
            }
        assert states == {"expiring": (False, KEY_EXPIRED), "person": (True, ""), "other": (True, "")}
        async with sessions() as session:
            expired = next(r for r in await session.scalars(select(SubscriptionRow)) if names[r.id] == "expiring")
        assert expired.version == versions["expiring"] + 1  # disabled once, as by the events one by one
