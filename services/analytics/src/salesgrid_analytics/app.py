"""Wiring of the analytics service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import grpc
from salesgrid.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from salesgrid_common.exports.jobs import ExportJobs
from salesgrid_common.exports.servicer import register as register_exports
from salesgrid_common.exports.wiring import export_background, export_jobs
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_analytics.exports import report_exporter
from salesgrid_analytics.handlers import subscriptions
from salesgrid_analytics.models import Base
from salesgrid_analytics.servicer import AnalyticsServicer
from salesgrid_analytics.usecases import AnalyticsUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def exports_for(ctx: ServiceContext) -> ExportJobs:
    return export_jobs(ctx, "analytics", [report_exporter(AnalyticsUseCases(ctx.sessions, ctx.clock))])


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    analytics_pb2_grpc.add_AnalyticsServicer_to_server(
        AnalyticsServicer(AnalyticsUseCases(ctx.sessions, ctx.clock)), server
    )
    return [
        *(service.full_name for service in analytics_pb2.DESCRIPTOR.services_by_name.values()),
        register_exports(server, exports_for(ctx)),
    ]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    return export_background(exports_for(ctx))


DEFINITION = ServiceDefinition(
    name="analytics", register=register, subscriptions=subscriptions, background=background, metadata=Base.metadata
)
