"""Wiring of the analytics service into the common bootstrap."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
from salesgrid.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from salesgrid_common.service import ServiceContext, ServiceDefinition

from salesgrid_analytics.handlers import subscriptions
from salesgrid_analytics.models import Base
from salesgrid_analytics.servicer import AnalyticsServicer
from salesgrid_analytics.usecases import AnalyticsUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    analytics_pb2_grpc.add_AnalyticsServicer_to_server(AnalyticsServicer(AnalyticsUseCases(ctx.sessions, ctx.clock)),
                                                       server)
    return [service.full_name for service in analytics_pb2.DESCRIPTOR.services_by_name.values()]


DEFINITION = ServiceDefinition(name="analytics", register=register, subscriptions=subscriptions, metadata=Base.metadata)
