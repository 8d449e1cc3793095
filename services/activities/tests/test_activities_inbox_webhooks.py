"""A webhook subscription disabled after failing for days reaches its owner's inbox through
activities' consumer of the webhooks stream (SQLite and PostgreSQL); a partner key's does not."""

from __future__ import annotations

from datetime import UTC, datetime

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionDisabled
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_activities.handlers_inbox import webhooks_notices
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, unpack
from salesgrid_dev.testing import RunningService, bearer, principal, run_service

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
TEAM = "/c/r1/b1/t1/"
SUB = webhooks_notices()
TYPE = "salesgrid.webhooks.subscription.disabled"


async def deliver(running: RunningService, payload: WebhookSubscriptionDisabled) -> None:
    envelope = build_envelope(
        TYPE, "webhooks", payload, EventMeta(aggregate_id=payload.subscription_id, org_path=TEAM), START
    )
    route = SUB.route(TYPE)
    assert route is not None and route[0] is not None
    await apply_once(running.app.ctx.sessions, SUB.name, envelope, route[1], unpack(envelope, route[0]))


async def test_a_disabled_webhook_reaches_its_owners_inbox(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        stub = pb_grpc.InboxStub(running.channel)
        await deliver(
            running,
            WebhookSubscriptionDisabled(
                subscription_id="wh-1",
                owner_id="rep-a",
                owner_kind="user",
                url="https://erp.example.com/hook",
                reason="failing",
            ),
        )
        await deliver(
            running,
            WebhookSubscriptionDisabled(
                subscription_id="wh-2", owner_id="key-1", owner_kind="api_key", url="https://x", reason="failing"
            ),
        )
        rep = bearer(test_keys.token(principal("rep-a", TEAM, permissions={"activities:read": "own"})))
        items = (await stub.ListInbox(pb.ListInboxRequest(), metadata=rep)).items
        assert [(i.kind, i.record.type, i.record.id) for i in items] == [
            ("webhook_disabled", "webhook_subscription", "wh-1")
        ]
        key = bearer(test_keys.token(principal("key-1", TEAM, permissions={"activities:read": "own"}, kind="api_key")))
        assert list((await stub.ListInbox(pb.ListInboxRequest(), metadata=key)).items) == []
