"""Thin gRPC servicer: proto <-> use case translation."""

from __future__ import annotations

import grpc

from salesgrid.webhooks.v1 import webhooks_pb2 as pb
from salesgrid.webhooks.v1 import webhooks_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp

from salesgrid_webhooks.domain import events
from salesgrid_webhooks.domain.subscriptions import Delivery, Subscription
from salesgrid_webhooks.subscriptions import SubscriptionUseCases

Ctx = grpc.aio.ServicerContext


def subscription_pb(sub: Subscription) -> pb.Subscription:
    return pb.Subscription(
        id=sub.id,
        url=sub.url,
        event_types=sub.event_types,
        enabled=sub.enabled,
        disabled_reason=sub.disabled_reason,
        owner_id=sub.owner_id,
        owner_kind=sub.owner_kind,
        description=sub.description,
        created_at=to_timestamp(sub.created_at),
        failing_since=to_timestamp(sub.failing_since),
        previous_secret_expires_at=to_timestamp(sub.previous_secret_expires_at if sub.previous_secret else None),
        version=sub.version,
    )


def delivery_pb(delivery: Delivery) -> pb.Delivery:
    return pb.Delivery(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempts=delivery.attempts,
        created_at=to_timestamp(delivery.created_at),
        next_attempt_at=to_timestamp(delivery.next_attempt_at),
        last_status_code=delivery.last_status_code,
        last_latency_ms=delivery.last_latency_ms,
        last_error=delivery.last_error,
        attempt_log=[
            pb.DeliveryAttempt(
                attempt=a.attempt,
                at=to_timestamp(a.at),
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
            )
            for a in delivery.log
        ],
    )


class WebhooksServicer(pb_grpc.WebhooksServicer):
    def __init__(self, usecases: SubscriptionUseCases) -> None:
        self.uc = usecases

    async def CreateSubscription(self, request: pb.CreateSubscriptionRequest, context: Ctx) -> pb.CreatedSubscription:
        row, secret = await self.uc.create(caller(), request.url, list(request.event_types), request.description)
        return pb.CreatedSubscription(subscription=subscription_pb(row), secret=secret)

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: Ctx
    ) -> pb.ListSubscriptionsResponse:
        return pb.ListSubscriptionsResponse(items=[subscription_pb(r) for r in await self.uc.list(caller())])

    async def GetSubscription(self, request: pb.GetSubscriptionRequest, context: Ctx) -> pb.Subscription:
        return subscription_pb(await self.uc.get(caller(), request.id))

    async def UpdateSubscription(self, request: pb.UpdateSubscriptionRequest, context: Ctx) -> pb.Subscription:
        row = await self.uc.update(
            caller(),
            request.id,
            url=request.url if request.HasField("url") else None,
            event_types=list(request.event_types),
            enabled=request.enabled if request.HasField("enabled") else None,
            description=request.description if request.HasField("description") else None,
            expected_version=request.expected_version,
        )
        return subscription_pb(row)

    async def DeleteSubscription(self, request: pb.DeleteSubscriptionRequest, context: Ctx) -> pb.Subscription:
        return subscription_pb(await self.uc.delete(caller(), request.id, request.expected_version))

    async def RotateSecret(self, request: pb.RotateSecretRequest, context: Ctx) -> pb.CreatedSubscription:
        row, secret = await self.uc.rotate_secret(
            caller(), request.id, request.overlap_seconds, request.expected_version
        )
        return pb.CreatedSubscription(subscription=subscription_pb(row), secret=secret)

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Ctx) -> pb.ListDeliveriesResponse:
        page = await self.uc.deliveries(
            caller(), request.subscription_id, request.status, request.page_size, request.page_token
        )
        return pb.ListDeliveriesResponse(items=[delivery_pb(d) for d in page.items], next_page_token=page.next_token)

    async def Redeliver(self, request: pb.RedeliverRequest, context: Ctx) -> pb.Delivery:
        return delivery_pb(await self.uc.redeliver(caller(), request.subscription_id, request.delivery_id))

    async def ListEventTypes(self, request: pb.ListEventTypesRequest, context: Ctx) -> pb.ListEventTypesResponse:
        return pb.ListEventTypesResponse(event_types=[f"{a}.*" for a in sorted(events.READ_PERMISSIONS)])
