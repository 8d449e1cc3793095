"""Wiring of the expenses service into the common bootstrap."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from salesgrid.expenses.v1 import expenses_pb2, expenses_pb2_grpc
from salesgrid_common.scheduling import every
from salesgrid_common.service import ServiceDefinition
from salesgrid_common.service_context import ServiceContext

from salesgrid_expenses.links_client import LinksClient
from salesgrid_expenses.merges import customer_merges_subscription
from salesgrid_expenses.models import Base
from salesgrid_expenses.servicer import ExpensesServicer
from salesgrid_expenses.settings import ExpensesSettings
from salesgrid_expenses.usecases import ExpensesUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def usecases_for(ctx: ServiceContext) -> ExpensesUseCases:
    def build() -> ExpensesUseCases:
        settings = ctx.settings_as(ExpensesSettings)
        links = LinksClient(ctx.channel(settings.customers_addr), ctx.channel(settings.pipeline_addr))
        return ExpensesUseCases(ctx.sessions, ctx.outbox, ctx.clock, links)

    return ctx.component(ExpensesUseCases, build)


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    expenses_pb2_grpc.add_ExpensesServicer_to_server(ExpensesServicer(usecases_for(ctx)), server)
    return [service.full_name for service in expenses_pb2.DESCRIPTOR.services_by_name.values()]


def background(ctx: ServiceContext) -> Sequence[Coroutine[Any, Any, None]]:
    settings = ctx.settings_as(ExpensesSettings)
    timeout = timedelta(hours=settings.approval_reminder_hours)
    return [
        every(
            settings.reminder_scan_seconds,
            lambda: usecases_for(ctx).send_reminders(timeout),
            "expense approval reminders sent",
        )
    ]


DEFINITION = ServiceDefinition(
    name="expenses",
    register=register,
    background=background,
    subscriptions=lambda ctx: [customer_merges_subscription()],
    metadata=Base.metadata,
)
