"""The webhooks service in-process (SQLite and PostgreSQL, real nats-server) delivering bus events
to real HTTP receivers on 127.0.0.1 that verify every signature with the standardwebhooks
library: one endpoint fails, then times out, then recovers (same webhook-id each time) while a
fast one is served meanwhile; scope filtering; secret rotation with overlap; the delivery log and
manual redelivery; a dead endpoint disabled with its owner told by an event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionDisabled
from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import utc_now
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_dev.processes import free_port
from salesgrid_dev.testing import bearer, eventually, field_violations, principal
from salesgrid_dev.webhook_receiver import Receiver, running_receiver
from salesgrid_webhooks.models import SubscriptionRow

from webhooks_fixtures import ADMIN, PARTNER, subscribe, webhooks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


async def publish(nats_url: str, customer_id: str, org_path: str) -> str:
    nc = await connect(nats_url, "test-customers")
    js = nc.jetstream()
    await ensure_stream(js, "customers", 1)
    envelope = build_envelope(
        "salesgrid.customers.customer.created",
        "customers",
        CustomerRecordState(customer_id=customer_id, legal_name="x", org_path=org_path),
        EventMeta(aggregate_id=customer_id, org_path=org_path, actor_id="u1"),
        utc_now(),
    )
    await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    await nc.drain()
    return envelope.event_id


async def test_deliveries_are_signed_retried_isolated_scoped_and_logged(
    database_url: str, nats_url: str, test_keys, receiver: Receiver
) -> None:  # type: ignore[no-untyped-def]
    admin = bearer(test_keys.token(principal("admin-1", "/c/", permissions=ADMIN)))
    partner = bearer(
        test_keys.token(principal("key-1", "/c/a/", permissions=PARTNER, kind="api_key", responsible_id="maker-1"))
    )
    async with webhooks(
        database_url,
        nats_url,
        test_keys,
        retry_schedule="0.3,0.3,0.3,0.5,0.5,0.5,0.5,0.5",
        request_timeout_seconds=0.6,
        poll_interval_seconds=0.05,
        allow_http_endpoints=True,
        disable_after_failing_seconds=2.5,
    ) as running:
        stub = pb_grpc.WebhooksStub(running.channel)

        # Bad input names the field; creating needs webhooks:create.
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.CreateSubscription(
                pb.CreateSubscriptionRequest(url="ftp://x", event_types=["salesgrid.customers.customer.*"]),
                metadata=admin,
            )
        assert field_violations(bad.value) == ["url"]
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await stub.CreateSubscription(
                pb.CreateSubscriptionRequest(url=receiver.url, event_types=["salesgrid.identity.auth.login_succeeded"]),
                metadata=admin,
            )
        assert field_violations(bad.value) == ["event_types"]
        rep = bearer(test_keys.token(principal("rep-1", "/c/a/", permissions={"customers:read": "own"})))
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.CreateSubscription(
                pb.CreateSubscriptionRequest(url=receiver.url + "/r", event_types=["salesgrid.customers.customer.*"]),
                metadata=rep,
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

        flaky = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(url=receiver.url + "/flaky", event_types=["salesgrid.customers.customer.*"]),
            metadata=admin,
        )
        fast = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(
                url=receiver.url + "/fast", event_types=["salesgrid.customers.customer.created"]
            ),
            metadata=partner,
        )
        assert flaky.secret.startswith("whsec_") and flaky.secret != fast.secret
        receiver.secrets = {"/flaky": [flaky.secret], "/fast": [fast.secret]}
        receiver.scripts["/flaky"] = [500, "hang"]
        # Kept encrypted: the database never holds the secret itself.
        async with running.app.ctx.sessions() as session:
            stored = await session.get(SubscriptionRow, flaky.subscription.id)
        assert stored is not None and flaky.secret not in stored.secret and fast.secret[6:] not in stored.secret
        # The secret is shown once: reading the subscription never returns it.
        got = await stub.GetSubscription(pb.GetSubscriptionRequest(id=flaky.subscription.id), metadata=admin)
        assert flaky.secret not in str(got)
        # The partner sees only its own subscription.
        mine = await stub.ListSubscriptions(pb.ListSubscriptionsRequest(), metadata=partner)
        assert [s.id for s in mine.items] == [fast.subscription.id]

        inside = await publish(nats_url, "cust-in", "/c/a/x/")
        outside = await publish(nats_url, "cust-out", "/c/b/")

        # The fast endpoint is served while the flaky one fails and hangs; only the record in the
        # partner's subtree reaches it.
        await eventually(lambda: _true(receiver.at("/fast")), timeout=10)
        first_fast = receiver.at("/fast")[0]
        assert first_fast["body"]["data"]["event_id"] == inside and first_fast["verified"] == {fast.secret: True}
        assert first_fast["body"]["type"] == "salesgrid.customers.customer.created"
        assert first_fast["body"]["data"]["id"] == "cust-in"

        async def flaky_recovered() -> bool:
            log = await stub.ListDeliveries(
                pb.ListDeliveriesRequest(subscription_id=flaky.subscription.id), metadata=admin
            )
            return len(log.items) == 2 and all(d.status == "succeeded" for d in log.items)

        # a 500, a hang to the delivery timeout, two back-offs: slow on a loaded machine
        await eventually(flaky_recovered, timeout=45)
        hang_started = next(r["at"] for r in receiver.at("/flaky") if r["action"] == "hang")
        assert first_fast["at"] < hang_started + 1.5  # not held up by the hanging endpoint
        assert [r["id"] for r in receiver.at("/fast")] == [first_fast["id"]]  # outside record never sent
        log = await stub.ListDeliveries(pb.ListDeliveriesRequest(subscription_id=flaky.subscription.id), metadata=admin)
        for retried in log.items:
            assert [a.status_code for a in retried.attempt_log] == [500, 0, 200]
            assert retried.attempts == 3 and retried.last_status_code == 200
            assert "timed out" in retried.attempt_log[1].error and retried.attempt_log[1].latency_ms >= 500
            assert len([r for r in receiver.at("/flaky") if r["id"] == retried.id]) == 3  # one id, every attempt
        assert all(r["verified"] == {flaky.secret: True} for r in receiver.at("/flaky"))
        assert {r["body"]["data"]["event_id"] for r in receiver.at("/flaky")} == {inside, outside}

        # Rotation: both secrets sign during the overlap; the receiver may hold either.
        rotated = await stub.RotateSecret(
            pb.RotateSecretRequest(id=flaky.subscription.id, overlap_seconds=3600), metadata=admin
        )
        assert rotated.secret != flaky.secret and rotated.subscription.HasField("previous_secret_expires_at")
        receiver.secrets["/flaky"] = [flaky.secret, rotated.secret]
        third = await publish(nats_url, "cust-3", "/c/a/")
        await eventually(lambda: _true([r for r in receiver.at("/flaky") if r["body"]["data"]["event_id"] == third]))
        after = next(r for r in receiver.at("/flaky") if r["body"]["data"]["event_id"] == third)
        assert after["verified"] == {flaky.secret: True, rotated.secret: True}
        assert len(after["signature"].split(" ")) == 2

        # Manual redelivery sends the same message again, with its id.
        await eventually(lambda: _true(len(receiver.at("/fast")) == 2))  # cust-3 is in the partner's subtree
        again = await stub.Redeliver(
            pb.RedeliverRequest(subscription_id=fast.subscription.id, delivery_id=first_fast["id"]), metadata=partner
        )
        assert again.status == "pending"
        await eventually(lambda: _true(len(receiver.at("/fast")) == 3))
        assert receiver.at("/fast")[2]["id"] == first_fast["id"]
        assert receiver.at("/fast")[2]["body"] == first_fast["body"]

        # A dead endpoint: retried on schedule, then the subscription is disabled and an event tells
        # the owner.
        dead = await stub.CreateSubscription(
            pb.CreateSubscriptionRequest(
                url=f"http://127.0.0.1:{free_port()}/gone", event_types=["salesgrid.customers.customer.*"]
            ),
            metadata=partner,
        )
        await publish(nats_url, "cust-4", "/c/a/")

        async def disabled() -> pb.Subscription | None:
            sub = await stub.GetSubscription(pb.GetSubscriptionRequest(id=dead.subscription.id), metadata=partner)
            return sub if not sub.enabled else None

        sub = await eventually(disabled, timeout=15)
        assert "failed for" in sub.disabled_reason
        assert sub.version == dead.subscription.version + 1  # the service's own disable is a new version
        async with running.app.ctx.sessions() as session:
            told = (
                await session.execute(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.webhooks.subscription.disabled")
                )
            ).all()
        # The key's creator (from its token) is named: the inbox tells him (activities).
        [notice] = [unpack(parse_envelope(e), WebhookSubscriptionDisabled) for (e,) in told]
        assert (notice.subscription_id, notice.owner_id, notice.owner_kind, notice.responsible_id) == (
            dead.subscription.id,
            "key-1",
            "api_key",
            "maker-1",
        )
        # Another owner's subscription is out of the partner's reach.
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await stub.GetSubscription(pb.GetSubscriptionRequest(id=flaky.subscription.id), metadata=partner)
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def _true(value: Any) -> Any:
    return value


async def test_subscriptions_stop_when_their_owner_loses_access(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    """A revoked API key, a deactivated owner or an owner whose roles changed: the scope kept with
    the subscription is no longer his, so deliveries stop until he re-enables it."""
    from salesgrid.events.v1.identity_events_pb2 import ApiKeyRevoked, UserState

    async def identity_event(event_type: str, payload: Any, aggregate_id: str) -> None:
        nc = await connect(nats_url, "test-identity")
        js = nc.jetstream()
        await ensure_stream(js, "identity", 1)
        envelope = build_envelope(event_type, "identity", payload, EventMeta(aggregate_id=aggregate_id), utc_now())
        await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
        await nc.drain()

    async with webhooks(database_url, nats_url, test_keys, allow_http_endpoints=True) as running:
        stub = pb_grpc.WebhooksStub(running.channel)
        owners = {
            "key-9": principal("key-9", "/c/a/", permissions=PARTNER, kind="api_key"),
            "user-9": principal("user-9", "/c/a/", permissions=PARTNER, roles=("manager",)),
            "user-8": principal("user-8", "/c/a/", permissions=PARTNER, roles=("manager",)),
        }
        subs = {o: i for i, o in (await subscribe(stub, test_keys, owners, ["salesgrid.customers.customer.*"])).items()}
        await identity_event("salesgrid.identity.api_key.revoked", ApiKeyRevoked(api_key_id="key-9"), "key-9")
        await identity_event(
            "salesgrid.identity.user.updated",
            UserState(  # first: nothing that matters changed
                user_id="user-8", org_path="/c/a/", roles=["manager"], active=True, display_name="New name"
            ),
            "user-8",
        )
        await identity_event(
            "salesgrid.identity.user.updated",
            UserState(user_id="user-9", org_path="/c/a/", roles=["manager", "director"], active=True),
            "user-9",
        )
        admin = bearer(test_keys.token(principal("admin-1", "/c/", permissions=ADMIN)))

        async def states() -> dict[str, bool] | None:
            found = {
                o: (await stub.GetSubscription(pb.GetSubscriptionRequest(id=i), metadata=admin)).enabled
                for o, i in subs.items()
            }
            return found if not found["key-9"] and not found["user-9"] else None

        assert await eventually(states) == {"key-9": False, "user-9": False, "user-8": True}
        # The owner re-enables with his current access; the scope snapshot is refreshed.
        again = await stub.UpdateSubscription(
            pb.UpdateSubscriptionRequest(id=subs["user-9"], enabled=True),
            metadata=bearer(test_keys.token(owners["user-9"])),
        )
        assert again.enabled and not again.disabled_reason
        assert again.version == 3  # created 1, disabled by the service 2, re-enabled 3
