"""Wiring of the customers service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from salesgrid.customers.v1 import (
    customers_pb2,
    customers_pb2_grpc,
    partners_pb2,
    partners_pb2_grpc,
    pool_standing_pb2,
    pool_standing_pb2_grpc,
    share_requests_pb2,
    share_requests_pb2_grpc,
)
from salesgrid_common.custom_fields.registry import EntitySpec
from salesgrid_common.custom_fields.wiring import register_custom_fields
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.exports.jobs import ExportJobs
from salesgrid_common.exports.servicer import register as register_exports
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_customers.handlers import (
    activities_subscription,
    contracts_subscription,
    pipeline_subscription,
)
from salesgrid_customers.exports import EXPORTERS
from salesgrid_customers.models import Base
from salesgrid_customers.servicer import CustomersServicer
from salesgrid_customers.servicer_partners import ChannelPartnersServicer
from salesgrid_customers.servicer_pool_standing import PoolStandingServicer
from salesgrid_customers.servicer_share_requests import ShareRequestsServicer
from salesgrid_customers.settings import CustomersSettings
from salesgrid_customers.usecases import CustomersUseCases
from salesgrid_customers.usecases.pool_standing import PoolStandingUseCases
from salesgrid_customers.usecases.share_requests import ShareRequestUseCases

CUSTOM_FIELD_ENTITIES = (EntitySpec("customers"), EntitySpec("contacts"))
MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def usecases_for(ctx: ServiceContext) -> CustomersUseCases:
    # ctx.extras["pool_policy"] (a domain.pool.PoolPolicy) overrides the default caps and periods;
    # ctx.extras["pool_policies"] maps org unit ids to their own policy (nearest unit wins).
    return ctx.component(
        CustomersUseCases,
        lambda: CustomersUseCases(
            ctx.sessions,
            ctx.outbox,
            ctx.clock,
            ctx.extras.get("pool_policy"),
            ctx.extras.get("pool_policies"),
            reader=ctx.reader,
        ),
    )


def exports_for(ctx: ServiceContext) -> ExportJobs:
    if "exports" not in ctx.extras:
        settings = ctx.settings_as(CustomersSettings)
        ctx.extras["exports"] = ExportJobs(
            "customers",
            ctx.sessions,
            ctx.reader,
            ctx.outbox,
            ctx.clock,
            EXPORTERS,
            retention=timedelta(hours=settings.export_retention_hours),
        )
    return ctx.extras["exports"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    customers_pb2_grpc.add_CustomersServicer_to_server(CustomersServicer(usecases_for(ctx)), server)
    partners_pb2_grpc.add_ChannelPartnersServicer_to_server(ChannelPartnersServicer(usecases_for(ctx)), server)
    share_requests_pb2_grpc.add_ShareRequestsServicer_to_server(
        ShareRequestsServicer(ShareRequestUseCases(usecases_for(ctx))), server
    )
    pool_standing_pb2_grpc.add_PoolStandingServicer_to_server(
        PoolStandingServicer(PoolStandingUseCases(usecases_for(ctx))), server
    )
    return [
        *(
            service.full_name
            for pb2 in (customers_pb2, share_requests_pb2, pool_standing_pb2, partners_pb2)
            for service in pb2.DESCRIPTOR.services_by_name.values()
        ),
        register_exports(server, exports_for(ctx)),
        register_custom_fields(server, ctx, CUSTOM_FIELD_ENTITIES),
    ]


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return [activities_subscription(), pipeline_subscription(), contracts_subscription()]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    settings = ctx.settings_as(CustomersSettings)
    return [
        every(settings.pool_scan_seconds, usecases_for(ctx).pool_scan, "pool scan (returned, warned)"),
        every(settings.import_seconds, usecases_for(ctx).run_imports, "imports (customers created)"),
        every(settings.export_seconds, exports_for(ctx).run_all, "exports written"),
        every(600, exports_for(ctx).purge_expired, "expired exports deleted"),
    ]


DEFINITION = ServiceDefinition(
    name="customers", register=register, subscriptions=subscriptions, background=background, metadata=Base.metadata
)
