"""Special-discount approvals (特批折扣, pipeline's `salesgrid.pipeline.discount_approval.*`) reach
partners by webhook (SQLite and PostgreSQL, real nats-server, the real HTTP receiver on 127.0.0.1
verifying every signature), each to subscribers whose owners could read the quote: quotes:read in
scope for the quote's unit. OWN scope or another resource's permission receives nothing; the
quote's own events do not match a discount_approval subscription."""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message
from sqlalchemy import func, select

from salesgrid.events.v1.pipeline_events_pb2 import PipelineDiscountApprovalStep, PipelineQuoteState
from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.clock import utc_now
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.testing import bearer, eventually, principal
from salesgrid_dev.webhook_receiver import running_receiver
from salesgrid_webhooks.models import DeliveryRow

from webhooks_fixtures import webhooks

HOOKS = {"webhooks:read": "own", "webhooks:create": "own"}
TYPES = ["salesgrid.pipeline.discount_approval.*"]


async def publish(nats_url: str, event_type: str, payload: Message, aggregate_id: str, org_path: str) -> str:
    nc = await connect(nats_url, "test-pipeline")
    js = nc.jetstream()
    await ensure_stream(js, "pipeline", 1)
    envelope = build_envelope(
        event_type,
        "pipeline",
        payload,
        EventMeta(aggregate_id=aggregate_id, org_path=org_path, actor_id="mgr-1"),
        utc_now(),
    )
    await js.publish(envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
    await nc.drain()
    return envelope.event_id


def step(quote_id: str, status: str) -> PipelineDiscountApprovalStep:
    return PipelineDiscountApprovalStep(
        quote_id=quote_id,
        opportunity_id=f"opp-{quote_id}",
        quote_version=1,
        step_order=1,
        role="manager",
        approver_id="mgr-1",
        status=status,
        owner_id="rep-1",
        discount_rate="18",
        submitted_by="rep-1",
    )


async def _true(value: Any) -> Any:
    return value


async def test_discount_approvals_reach_the_partners_who_could_read_the_quote(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    subscribers = {  # path on the receiver -> the key's unit and its permissions
        "/east": ("/c/east/", {**HOOKS, "quotes:read": "subtree"}),
        "/west": ("/c/west/", {**HOOKS, "quotes:read": "subtree"}),
        "/own": ("/c/east/", {**HOOKS, "quotes:read": "own"}),
        "/no-quotes": ("/c/", {**HOOKS, "opportunities:read": "all"}),
    }
    with running_receiver() as receiver:
        async with webhooks(
            database_url, nats_url, test_keys, poll_interval_seconds=0.05, allow_http_endpoints=True
        ) as running:
            stub = pb_grpc.WebhooksStub(running.channel)
            listed = await stub.ListEventTypes(
                pb.ListEventTypesRequest(), metadata=bearer(test_keys.token(principal()))
            )
            assert "salesgrid.pipeline.discount_approval.*" in listed.event_types
            subs = {}
            for path, (unit, permissions) in subscribers.items():
                key = principal(f"key{path.replace('/', '-')}", unit, permissions=permissions, kind="api_key")
                created = await stub.CreateSubscription(
                    pb.CreateSubscriptionRequest(url=receiver.url + path, event_types=TYPES),
                    metadata=bearer(test_keys.token(key)),
                )
                subs[path] = created.subscription.id
                receiver.secrets[path] = [created.secret]

            # The quote's own event does not match; the steps go to whoever reads the quote's unit.
            await publish(
                nats_url,
                "salesgrid.pipeline.quote.discount_approved",
                PipelineQuoteState(quote_id="q-east", discount_approval="approved"),
                "q-east",
                "/c/east/b1/",
            )
            west = await publish(
                nats_url,
                "salesgrid.pipeline.discount_approval.step_approved",
                step("q-west", "approved"),
                "q-west",
                "/c/west/",
            )
            east = await publish(
                nats_url,
                "salesgrid.pipeline.discount_approval.step_activated",
                step("q-east", "pending"),
                "q-east",
                "/c/east/b1/",
            )

            await eventually(lambda: _true(receiver.at("/east") and receiver.at("/west")), timeout=15)
            [to_east] = receiver.at("/east")
            [to_west] = receiver.at("/west")
            assert to_east["verified"] == {receiver.secrets["/east"][0]: True}
            assert to_west["verified"] == {receiver.secrets["/west"][0]: True}
            assert to_east["body"]["type"] == "salesgrid.pipeline.discount_approval.step_activated"
            assert to_east["body"]["data"] == {
                "event_id": east,
                "object": "discount_approval",
                "id": "q-east",  # the quote: the partner reads it through GET /v1/quotes/{id}
                "actor_id": "mgr-1",
            }
            assert (to_west["body"]["type"], to_west["body"]["data"]["event_id"]) == (
                "salesgrid.pipeline.discount_approval.step_approved",
                west,
            )
            # The east step was the last event published, so every event has been fanned out: the
            # OWN-scope key and the key without quotes:read got nothing, nor did anyone the quote's event.
            async with running.app.ctx.sessions() as session:
                counts = dict(
                    (
                        await session.execute(
                            select(DeliveryRow.subscription_id, func.count()).group_by(DeliveryRow.subscription_id)
                        )
                    ).all()
                )
            assert {path: counts.get(sub_id, 0) for path, sub_id in subs.items()} == {
                "/east": 1,
                "/west": 1,
                "/own": 0,
                "/no-quotes": 0,
            }
            assert receiver.at("/own") == [] and receiver.at("/no-quotes") == []
