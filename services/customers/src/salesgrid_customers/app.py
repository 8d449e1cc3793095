"""Wiring of the customers service into the common bootstrap."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from salesgrid.customers.v1 import customers_pb2, customers_pb2_grpc
from salesgrid_common.service import ServiceContext, ServiceDefinition
from salesgrid_customers.servicer import CustomersServicer
from salesgrid_customers.usecases import CustomersUseCases

MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # shipped inside the package


def usecases_for(ctx: ServiceContext) -> CustomersUseCases:
    if "usecases" not in ctx.extras:
        # ctx.extras["pool_policy"] (a domain.pool.PoolPolicy) overrides the default caps and periods.
        ctx.extras["usecases"] = CustomersUseCases(ctx.sessions, ctx.outbox, ctx.clock, ctx.extras.get("pool_policy"))
    return ctx.extras["usecases"]


def register(server: grpc.aio.Server, ctx: ServiceContext) -> Sequence[str]:
    customers_pb2_grpc.add_CustomersServicer_to_server(CustomersServicer(usecases_for(ctx)), server)
    return [service.full_name for service in customers_pb2.DESCRIPTOR.services_by_name.values()]


DEFINITION = ServiceDefinition(name="customers", register=register)
