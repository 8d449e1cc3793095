"""Wiring of the expenses service into the common bootstrap."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc
from salesgrid.expenses.v1 import expenses_pb2, expenses_pb2_grpc
from salesgrid_common.service import ServiceContext, ServiceDefinition

from salesgrid_expenses.models import Base
from salesgrid_expenses.servicer import ExpensesServicer
from salesgrid_expenses.usecases_all import ExpensesUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    usecases = ExpensesUseCases(ctx.sessions, ctx.outbox, ctx.clock)
    expenses_pb2_grpc.add_ExpensesServicer_to_server(ExpensesServicer(usecases), server)
    return [service.full_name for service in expenses_pb2.DESCRIPTOR.services_by_name.values()]


DEFINITION = ServiceDefinition(name="expenses", register=register, metadata=Base.metadata)
