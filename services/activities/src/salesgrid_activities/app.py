"""Wiring of the activities service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import grpc
from salesgrid.activities.v1 import (
    activities_pb2,
    activities_pb2_grpc,
    announcements_pb2,
    announcements_pb2_grpc,
    inbox_pb2,
    inbox_pb2_grpc,
    spot_checks_pb2,
    spot_checks_pb2_grpc,
)
from salesgrid_common.exports.servicer import register as register_exports
from salesgrid_common.exports.wiring import export_background, export_jobs
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_activities.exports import EXPORTERS
from salesgrid_activities.handlers import customer_locations
from salesgrid_activities.handlers_inbox import inbox_subscriptions
from salesgrid_activities.merges import customer_merges_subscription
from salesgrid_activities.models import Base
from salesgrid_activities.servicer import ActivitiesServicer
from salesgrid_activities.servicer_announcements import AnnouncementsServicer, SpotChecksServicer
from salesgrid_activities.servicer_inbox import InboxServicer
from salesgrid_activities.settings import ActivitiesSettings
from salesgrid_activities.usecases import ActivitiesUseCases
from salesgrid_activities.usecases.announcements import AnnouncementsUseCases
from salesgrid_activities.usecases.inbox import InboxUseCases
from salesgrid_activities.usecases.spot_checks import SpotChecksUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package
# How often the scheduler looks for local days that have ended (per time zone, from ctx.clock).
REPORT_SCHEDULER_INTERVAL_SECONDS = 60.0
# Reminders and overdue tasks: a tick's lateness is how late a reminder may arrive.
TASK_SCHEDULER_INTERVAL_SECONDS = 15.0


def usecases_for(ctx: ServiceContext) -> ActivitiesUseCases:
    return ctx.component(ActivitiesUseCases, lambda: ActivitiesUseCases(ctx.sessions, ctx.outbox, ctx.clock))


def spot_checks_for(ctx: ServiceContext) -> SpotChecksUseCases:
    if "spot_checks" not in ctx.extras:
        ctx.extras["spot_checks"] = SpotChecksUseCases(ctx.sessions, ctx.outbox, ctx.clock)
    return ctx.extras["spot_checks"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    activities_pb2_grpc.add_ActivitiesServicer_to_server(ActivitiesServicer(usecases_for(ctx)), server)
    inbox_pb2_grpc.add_InboxServicer_to_server(
        InboxServicer(InboxUseCases(ctx.sessions, ctx.clock, ctx.reader)), server
    )
    announcements_pb2_grpc.add_AnnouncementsServicer_to_server(
        AnnouncementsServicer(AnnouncementsUseCases(ctx.sessions, ctx.outbox, ctx.clock)), server
    )
    spot_checks_pb2_grpc.add_SpotChecksServicer_to_server(SpotChecksServicer(spot_checks_for(ctx)), server)
    return [
        *(
            service.full_name
            for pb2 in (activities_pb2, inbox_pb2, announcements_pb2, spot_checks_pb2)
            for service in pb2.DESCRIPTOR.services_by_name.values()
        ),
        register_exports(server, export_jobs(ctx, "activities", EXPORTERS)),
    ]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    uc = usecases_for(ctx)
    return [
        every(REPORT_SCHEDULER_INTERVAL_SECONDS, uc.close_report_days, "missing daily reports recorded"),
        every(TASK_SCHEDULER_INTERVAL_SECONDS, uc.fire_due_reminders, "task reminders fired"),
        every(TASK_SCHEDULER_INTERVAL_SECONDS, uc.fire_overdue_tasks, "overdue tasks reported"),
        every(
            ctx.settings_as(ActivitiesSettings).spot_check_seconds,
            spot_checks_for(ctx).draw_spot_checks,
            "follow-ups spot-checked",
        ),
        *export_background(export_jobs(ctx, "activities", EXPORTERS)),
    ]


DEFINITION = ServiceDefinition(
    name="activities",
    register=register,
    background=background,
    subscriptions=lambda ctx: [customer_locations(), customer_merges_subscription(), *inbox_subscriptions()],
    metadata=Base.metadata,
)
