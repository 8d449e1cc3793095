"""Subscription changes are events for the audit trail (who set up, changed, re-keyed or removed
each channel out of the platform; never the secret), and the delivery log keeps finished
deliveries for its retention only (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionChanged
from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import bearer, principal
from salesgrid_webhooks.models import AttemptRow, DeliveryRow
from salesgrid_webhooks.retention import purge_delivery_log

from webhooks_fixtures import ADMIN, webhooks

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_every_subscription_change_is_an_audited_event_without_the_secret(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True, clock=FakeClock(NOW)) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        admin = bearer(test_keys.token(principal("admin-1", "/c/", permissions=ADMIN)))
        created = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(url="http://127.0.0.1:9/erp", event_types=["salesgrid.customers.customer.*"]),
            metadata=admin,
        )
        sub_id = created.subscription.id
        await stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(id=sub_id, url="http://127.0.0.1:9/erp2"), metadata=admin
        )
        rotated = await stub.RotateSecret(pb.RotateSecretRequest(id=sub_id), metadata=admin)
        await stub.DeleteSubscription(pb.DeleteSubscriptionRequest(id=sub_id), metadata=admin)

        async with running.app.ctx.sessions() as session:
            rows = (
                await session.execute(select(outbox.c.subject, outbox.c.envelope).order_by(outbox.c.event_id))
            ).all()
        assert [subject for subject, _ in rows] == [
            f"salesgrid.webhooks.subscription.{verb}" for verb in ("created", "updated", "secret_rotated", "deleted")
        ]
        envelopes = [parse_envelope(data) for _, data in rows]
        assert {(e.aggregate_id, e.actor_id) for e in envelopes} == {(sub_id, "admin-1")}
        changes = [unpack(e, WebhookSubscriptionChanged) for e in envelopes]
        assert [c.url for c in changes] == ["http://127.0.0.1:9/erp"] + ["http://127.0.0.1:9/erp2"] * 3
        assert changes[-1].enabled is False and changes[0].event_types == ["salesgrid.customers.customer.*"]
        for _, data in rows:  # neither secret ever leaves in an event
            assert created.secret[6:].encode() not in data and rotated.secret[6:].encode() not in data


def delivery(delivery_id: str, status: str, age: timedelta) -> DeliveryRow:
    return DeliveryRow(
        id=delivery_id,
        subscription_id="sub-1",
        event_id=f"ev-{delivery_id}",
        event_type="salesgrid.customers.customer.created",
        body="{}",
        status=status,
        attempts=1,
        next_attempt_at=None if status != "pending" else NOW,
        last_status_code=200,
        last_latency_ms=5,
        last_error="",
        created_at=NOW - age,
        delivered_at=None,
    )


async def test_finished_deliveries_past_their_retention_are_deleted_pending_ones_never(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    from salesgrid_webhooks.models import SubscriptionRow

    async with webhooks(database_url, nats_url, test_keys, clock=FakeClock(NOW)) as running:
        sessions = running.app.ctx.sessions
        old, young = timedelta(days=31), timedelta(days=29)
        async with sessions() as session, session.begin():
            session.add(
                SubscriptionRow(
                    id="sub-1",
                    owner_id="u1",
                    owner_kind="user",
                    org_path="/c/",
                    permissions={},
                    owner_roles=[],
                    url="https://x.example.com/",
                    description="",
                    event_types=["salesgrid.customers.customer.*"],
                    secret="sealed",
                    previous_secret=None,
                    previous_secret_expires_at=None,
                    enabled=False,
                    disabled_reason="",
                    failing_since=None,
                    deleted=False,
                    created_at=NOW - old,
                )
            )
            await session.flush()
            for delivery_id, status, age in (
                ("d-old-ok", "succeeded", old),
                ("d-old-failed", "failed", old),
                ("d-old-pending", "pending", old),
                ("d-young-ok", "succeeded", young),
            ):
                session.add(delivery(delivery_id, status, age))
                await session.flush()
                session.add(
                    AttemptRow(
                        id=f"a-{delivery_id}",
                        delivery_id=delivery_id,
                        attempt=1,
                        at=NOW - age,
                        status_code=200,
                        latency_ms=5,
                    )
                )
        assert await purge_delivery_log(sessions, FakeClock(NOW), timedelta(days=30)) == 2
        async with sessions() as session:
            kept = sorted((await session.scalars(select(DeliveryRow.id))).all())
            attempts = sorted((await session.scalars(select(AttemptRow.delivery_id))).all())
        assert kept == attempts == ["d-old-pending", "d-young-ok"]
