"""Wiring of the contracts service into the common bootstrap."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from salesgrid.contracts.v1 import contracts_pb2, contracts_pb2_grpc
from salesgrid_common.service import ServiceContext, ServiceDefinition
from salesgrid_contracts.servicer import ContractsServicer
from salesgrid_contracts.usecases import ContractsUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def usecases_for(ctx: ServiceContext) -> ContractsUseCases:
    if "usecases" not in ctx.extras:
        ctx.extras["usecases"] = ContractsUseCases(ctx.sessions, ctx.outbox, ctx.clock)
    return ctx.extras["usecases"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    contracts_pb2_grpc.add_ContractsServicer_to_server(ContractsServicer(usecases_for(ctx)), server)
    return [service.full_name for service in contracts_pb2.DESCRIPTOR.services_by_name.values()]


DEFINITION = ServiceDefinition(name="contracts", register=register)
