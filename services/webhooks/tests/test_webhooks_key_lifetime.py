"""A partner key's subscriptions live no longer than the key opens anything (SQLite and
PostgreSQL): past the key's own expiry (carried by its token) no event becomes a delivery and
the subscription is disabled with the reason; when the key's unit is deactivated its
subscriptions stop, while a person's subscription in that unit is left to identity's user
events. When a unit moves, its subscriptions' paths follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.identity_events_pb2 import OrgUnitState
from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_dev.testing import bearer, principal
from salesgrid_webhooks.fanout import KEY_EXPIRED, fan_out, subscriptions
from salesgrid_webhooks.models import DeliveryRow, SubscriptionRow

from webhooks_fixtures import PARTNER, subscribe, webhooks

START = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
UNIT = "/c/k/"


async def test_a_keys_subscriptions_stop_at_its_expiry_and_with_its_unit(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    clock = FakeClock(START)
    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True, clock=clock) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        owners = {
            "expiring": principal(
                "key-exp",
                "/c/e/",
                permissions=PARTNER,
                kind="api_key",
                key_expires_at=(START + timedelta(hours=1)).timestamp(),
            ),
            "unit-key": principal("key-unit", UNIT, permissions=PARTNER, kind="api_key"),
            "person": principal("user-1", UNIT, permissions=PARTNER),
        }
        subs = await subscribe(stub, test_keys, owners, ["salesgrid.customers.customer.*"])
        sessions = running.app.ctx.sessions

        async def event(org_path: str) -> dict[str, int]:
            envelope = build_envelope(
                "salesgrid.customers.customer.updated",
                "customers",
                CustomerRecordState(customer_id="c1", org_path=org_path),
                EventMeta(aggregate_id="c1", org_path=org_path),
                clock(),
            )
            async with sessions() as session, session.begin():
                await fan_out(session, envelope, clock)
            async with sessions() as session:
                counts = (
                    await session.execute(
                        select(DeliveryRow.subscription_id, func.count()).group_by(DeliveryRow.subscription_id)
                    )
                ).all()
            return {subs[s]: n for s, n in counts}

        assert await event("/c/e/x/") == {"expiring": 1}
        clock.advance(timedelta(hours=2))  # the key has expired
        assert await event("/c/e/x/") == {"expiring": 1}  # nothing more for it
        async with sessions() as session:
            expired = await session.get(SubscriptionRow, next(s for s, n in subs.items() if n == "expiring"))
        assert expired is not None and not expired.enabled and expired.disabled_reason == KEY_EXPIRED
        # Nobody turns it back on: an administrator cannot extend the key's life.
        admin = principal("admin-1", "/c/", permissions={"webhooks:read": "all", "webhooks:create": "all"})
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.UpdateSubscription(
                pb.UpdateSubscriptionRequest(id=expired.id, enabled=True), metadata=bearer(test_keys.token(admin))
            )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        assert await event("/c/k/") == {"expiring": 1, "unit-key": 1, "person": 1}
        owners_sub = next(s for s in subscriptions(clock) if s.name == "webhooks-owners")
        closed = build_envelope(
            "salesgrid.identity.org_unit.deactivated",
            "identity",
            OrgUnitState(unit_id="k", path=UNIT, active=False),
            EventMeta(aggregate_id="k", org_path=UNIT),
            clock(),
        )
        route = owners_sub.route(closed.type)
        assert route is not None and route[0] is not None
        await apply_once(sessions, owners_sub.name, closed, route[1], unpack(closed, route[0]))
        assert await event("/c/k/") == {"expiring": 1, "unit-key": 1, "person": 2}
        async with sessions() as session:
            states = {
                subs[r.id]: (r.enabled, r.disabled_reason)
                for r in (await session.scalars(select(SubscriptionRow))).all()
            }
        assert states["unit-key"] == (False, "the owning API key's unit was deactivated")
        assert states["person"] == (True, "")


async def test_subscriptions_follow_their_owners_unit_when_it_moves(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        made = {}
        for owner, path in (("key-moved", "/c/r1/b1/"), ("key-below", "/c/r1/b1/t1/"), ("key-other", "/c/r2/")):
            created = await stub.CreateSubscription(
                pb.CreateSubscriptionRequest(
                    url=f"http://127.0.0.1:9/{owner}", event_types=["salesgrid.customers.customer.*"]
                ),
                metadata=bearer(test_keys.token(principal(owner, path, permissions=PARTNER, kind="api_key"))),
            )
            made[created.subscription.id] = owner
        owners_sub = next(s for s in subscriptions(FakeClock(START)) if s.name == "webhooks-owners")
        moved = build_envelope(
            "salesgrid.identity.org_unit.moved",
            "identity",
            OrgUnitState(unit_id="b1", path="/c/r3/b1/", previous_path="/c/r1/b1/", active=True),
            EventMeta(aggregate_id="b1", org_path="/c/r3/b1/"),
            START,
        )
        route = owners_sub.route(moved.type)
        assert route is not None and route[0] is not None
        await apply_once(running.app.ctx.sessions, owners_sub.name, moved, route[1], unpack(moved, route[0]))
        async with running.app.ctx.sessions() as session:
            paths = {
                made[r.id]: (r.org_path, r.enabled) for r in (await session.scalars(select(SubscriptionRow))).all()
            }
        assert paths == {
            "key-moved": ("/c/r3/b1/", True),
            "key-below": ("/c/r3/b1/t1/", True),
            "key-other": ("/c/r2/", True),
        }
