"""Wiring of the webhooks service into the common bootstrap.

Why a service of its own (not inside identity, which owns API keys): delivering is outbound HTTP
to partner endpoints that may be slow or dead for days, with retries over more than a day and a
growing delivery log; kept apart, that load and its failures never touch logins and token
exchange, and it scales on its own. It reads every producer's stream with durable consumers,
like analytics, and keeps the owner's scope with each subscription."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from salesgrid.webhooks.v1 import webhooks_pb2, webhooks_pb2_grpc
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_webhooks import fanout
from salesgrid_webhooks.dispatcher import Dispatcher
from salesgrid_webhooks.models import Base
from salesgrid_webhooks.retention import purge_delivery_log
from salesgrid_webhooks.servicer import WebhooksServicer
from salesgrid_webhooks.settings import WebhooksSettings
from salesgrid_webhooks.subscriptions import SubscriptionUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def settings_for(ctx: ServiceContext) -> WebhooksSettings:
    return ctx.settings_as(WebhooksSettings)


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    usecases = SubscriptionUseCases(ctx.sessions, ctx.reader, settings_for(ctx), ctx.clock, ctx.outbox)
    webhooks_pb2_grpc.add_WebhooksServicer_to_server(WebhooksServicer(usecases), server)
    return [service.full_name for service in webhooks_pb2.DESCRIPTOR.services_by_name.values()]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    settings = settings_for(ctx)
    retention = timedelta(days=settings.delivery_log_retention_days)

    async def purge() -> int:
        return await purge_delivery_log(ctx.sessions, ctx.clock, retention)

    return [
        Dispatcher(ctx.sessions, ctx.outbox, settings, ctx.clock).run(),
        every(3600, purge, "webhook deliveries past their retention deleted"),
    ]


DEFINITION = ServiceDefinition(
    name="webhooks",
    register=register,
    background=background,
    subscriptions=lambda ctx: fanout.subscriptions(ctx.clock),
    metadata=Base.metadata,
)
