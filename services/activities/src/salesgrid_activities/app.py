"""Wiring of the activities service into the common bootstrap."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import grpc

from salesgrid.activities.v1 import activities_pb2, activities_pb2_grpc
from salesgrid_common.service import ServiceContext, ServiceDefinition
from salesgrid_activities.servicer import ActivitiesServicer
from salesgrid_activities.usecases import ActivitiesUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package
# How often the scheduler looks for local days that have ended (per time zone, from ctx.clock).
REPORT_SCHEDULER_INTERVAL_SECONDS = 60.0

log = logging.getLogger(__name__)


def usecases_for(ctx: ServiceContext) -> ActivitiesUseCases:
    if "usecases" not in ctx.extras:
        ctx.extras["usecases"] = ActivitiesUseCases(ctx.sessions, ctx.outbox, ctx.clock)
    return ctx.extras["usecases"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    activities_pb2_grpc.add_ActivitiesServicer_to_server(ActivitiesServicer(usecases_for(ctx)), server)
    return [service.full_name for service in activities_pb2.DESCRIPTOR.services_by_name.values()]


async def missing_report_scheduler(usecases: ActivitiesUseCases,
                                   interval: float = REPORT_SCHEDULER_INTERVAL_SECONDS) -> None:
    """Closes ended local days (missing reports); a failed run is retried at the next tick."""
    while True:
        try:
            written = await usecases.close_report_days()
            if written:
                log.info("missing daily reports recorded", extra={"count": written})
        except Exception:  # noqa: BLE001 - the loop must outlive one bad run (database blip)
            log.exception("missing-report scheduler run failed")
        await asyncio.sleep(interval)


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    return [missing_report_scheduler(usecases_for(ctx))]


DEFINITION = ServiceDefinition(name="activities", register=register, background=background)
