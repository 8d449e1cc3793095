"""Wiring of the pipeline service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import grpc
from salesgrid.pipeline.v1 import pipeline_pb2, pipeline_pb2_grpc
from salesgrid_common.channels import channel_partners_subscription
from salesgrid_common.custom_fields.registry import EntitySpec
from salesgrid_common.custom_fields.wiring import register_custom_fields
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.exports.servicer import register as register_exports
from salesgrid_common.exports.wiring import export_background, export_jobs
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_pipeline.contracts_client import ContractsClient
from salesgrid_pipeline.customers_client import CustomersClient
from salesgrid_pipeline.exports import EXPORTERS
from salesgrid_pipeline.handlers import follow_up_subscription
from salesgrid_pipeline.merges import customer_merges_subscription
from salesgrid_pipeline.models import Base
from salesgrid_pipeline.servicer import PipelineServicer
from salesgrid_pipeline.servicer_quote_approvals import QuoteApprovalsServicer
from salesgrid_pipeline.settings import PipelineSettings
from salesgrid_pipeline.usecases import PipelineUseCases

# How often pipeline checks that every stage model in force was published (the first check at start).
STAGE_MODEL_CHECK_SECONDS = 300.0
# Opportunities follow a stage model (their business line): a field may apply to some lines only.
CUSTOM_FIELD_ENTITIES = (EntitySpec("opportunities", business_lines=True), EntitySpec("leads"))
MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def usecases_for(ctx: ServiceContext) -> PipelineUseCases:
    settings = ctx.settings_as(PipelineSettings)
    return ctx.component(
        PipelineUseCases,
        lambda: PipelineUseCases(
            ctx.sessions,
            ctx.outbox,
            ctx.clock,
            CustomersClient(ctx.channel(settings.customers_addr)),
            ContractsClient(ctx.channel(settings.contracts_addr)),
            reclaim_after_days=settings.lead_reclaim_days,
        ),
    )


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    pipeline_pb2_grpc.add_PipelineServicer_to_server(PipelineServicer(usecases_for(ctx)), server)
    pipeline_pb2_grpc.add_QuoteApprovalsServicer_to_server(QuoteApprovalsServicer(usecases_for(ctx)), server)
    return [
        *(service.full_name for service in pipeline_pb2.DESCRIPTOR.services_by_name.values()),
        register_exports(server, export_jobs(ctx, "pipeline", EXPORTERS)),
        register_custom_fields(server, ctx, CUSTOM_FIELD_ENTITIES),
    ]


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return [
        follow_up_subscription(usecases_for(ctx)),
        customer_merges_subscription(usecases_for(ctx)),
        channel_partners_subscription("pipeline"),
    ]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    settings = ctx.settings_as(PipelineSettings)
    interval = settings.sla_scan_seconds
    return [
        every(settings.import_seconds, usecases_for(ctx).run_lead_imports, "lead imports (leads created)"),
        every(interval, usecases_for(ctx).sla_scan, "SLA scan notices"),
        every(interval, usecases_for(ctx).send_discount_reminders, "special-discount reminders"),
        every(STAGE_MODEL_CHECK_SECONDS, usecases_for(ctx).publish_stage_models, "stage models published"),
        *export_background(export_jobs(ctx, "pipeline", EXPORTERS)),
    ]


DEFINITION = ServiceDefinition(
    name="pipeline", register=register, subscriptions=subscriptions, background=background, metadata=Base.metadata
)
