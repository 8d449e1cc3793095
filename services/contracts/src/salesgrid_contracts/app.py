"""Wiring of the contracts service into the common bootstrap."""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import grpc
from salesgrid.contracts.v1 import contracts_pb2, contracts_pb2_grpc, documents_pb2, documents_pb2_grpc
from salesgrid_common.channels import channel_partners_subscription
from salesgrid_common.custom_fields.registry import EntitySpec
from salesgrid_common.custom_fields.wiring import register_custom_fields
from salesgrid_common.exports.servicer import register as register_exports
from salesgrid_common.exports.wiring import export_background, export_jobs
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_contracts.customer_names import customer_names_subscription
from salesgrid_contracts.exports import EXPORTERS
from salesgrid_contracts.merges import customer_merges_subscription
from salesgrid_contracts.models import Base
from salesgrid_contracts.pipeline_client import PipelineClient
from salesgrid_contracts.domain.documents import Letterhead
from salesgrid_contracts.servicer import ContractsServicer
from salesgrid_contracts.servicer_documents import DocumentsServicer
from salesgrid_contracts.settings import ContractsSettings
from salesgrid_contracts.usecases import ContractsUseCases
from salesgrid_contracts.usecases.documents import DocumentsUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package
log = logging.getLogger(__name__)


def usecases_for(ctx: ServiceContext) -> ContractsUseCases:
    pipeline_addr = ctx.settings_as(ContractsSettings).pipeline_addr
    return ctx.component(
        ContractsUseCases,
        lambda: ContractsUseCases(ctx.sessions, ctx.outbox, ctx.clock, PipelineClient(ctx.channel(pipeline_addr))),
    )


def documents_for(ctx: ServiceContext) -> DocumentsUseCases:
    if "documents" not in ctx.extras:
        settings = ctx.settings_as(ContractsSettings)
        letterhead = Letterhead(settings.company_name, settings.company_address, settings.company_phone)
        ctx.extras["documents"] = DocumentsUseCases(ctx.sessions, ctx.outbox, ctx.clock, letterhead)
    return ctx.extras["documents"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    contracts_pb2_grpc.add_ContractsServicer_to_server(ContractsServicer(usecases_for(ctx)), server)
    documents_pb2_grpc.add_DocumentsServicer_to_server(DocumentsServicer(documents_for(ctx)), server)
    return [
        *(
            service.full_name
            for pb2 in (contracts_pb2, documents_pb2)
            for service in pb2.DESCRIPTOR.services_by_name.values()
        ),
        register_exports(server, export_jobs(ctx, "contracts", EXPORTERS)),
        register_custom_fields(server, ctx, (EntitySpec("contracts"),)),
    ]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    interval = ctx.settings_as(ContractsSettings).reminder_scan_seconds
    return [
        every(interval, usecases_for(ctx).send_reminders, "contract reminders sent"),
        *export_background(export_jobs(ctx, "contracts", EXPORTERS)),
    ]


DEFINITION = ServiceDefinition(
    name="contracts",
    register=register,
    background=background,
    subscriptions=lambda ctx: [
        customer_merges_subscription(),
        customer_names_subscription(),
        channel_partners_subscription("contracts"),
    ],
    metadata=Base.metadata,
)
