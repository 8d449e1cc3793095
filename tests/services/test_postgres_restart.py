"""PostgreSQL restarted under load: the service reports NOT_SERVING while its database is gone,
reconnects on its own and serves again; every write it acknowledged is still there afterwards
(and its events were published)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import func, insert, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.directory_tables import directory_users
from salesgrid_common.events.tables import outbox
from salesgrid_customers import models
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_dev.processes import ThrowawayPostgres
from salesgrid_dev.testing import bearer, eventually, principal, run_service

PERMS = {"customers:read": "own", "customers:create": "own"}


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    cluster = ThrowawayPostgres(durable=True).start()  # its own: this test crashes and restarts it
    try:
        yield cluster
    finally:
        cluster.stop()


async def test_services_ride_out_a_postgres_restart(own_postgres: ThrowawayPostgres, nats_url: str, test_keys) -> None:
    url = own_postgres.create_database("customers")
    async with run_service(DEFINITION, MIGRATIONS, url, nats_url, test_keys) as running:
        async with running.app.ctx.sessions() as session, session.begin():
            await session.execute(
                insert(directory_users).values(
                    user_id="rep-a",
                    login="rep-a",
                    display_name="rep-a",
                    unit_id="t1",
                    org_path="/c/t1/",
                    manager_id=None,
                    roles="",
                    active=True,
                    time_zone="UTC",
                    updated_at=datetime.now(UTC),
                )
            )
        api = pb_grpc.CustomersStub(running.channel)
        health = health_pb2_grpc.HealthStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/t1/", unit_id="t1", permissions=PERMS)))
        acknowledged: list[str] = []
        failures: list[grpc.StatusCode] = []
        stop = asyncio.Event()

        async def load() -> None:
            while not stop.is_set():
                try:
                    reply = await api.CreateCustomer(
                        pb.CreateCustomerRequest(legal_name=f"{uuid.uuid4().hex} Trading"), metadata=rep, timeout=5
                    )
                    acknowledged.append(reply.customer.id)
                except grpc.aio.AioRpcError as error:
                    failures.append(error.code())
                    await asyncio.sleep(0.05)

        async def status() -> int:
            return (await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=2)).status

        writer = asyncio.create_task(load())
        try:
            await eventually(lambda: asyncio.sleep(0, len(acknowledged) >= 10), timeout=15)
            await asyncio.to_thread(own_postgres.crash)
            await eventually(lambda: _is(status, health_pb2.HealthCheckResponse.NOT_SERVING), timeout=10)
            before_restart = len(acknowledged)
            await asyncio.sleep(1)
            await asyncio.to_thread(own_postgres.restart_after_crash)
            await eventually(lambda: _is(status, health_pb2.HealthCheckResponse.SERVING), timeout=15)
            # Writes succeed again without anyone restarting the service.
            await eventually(lambda: asyncio.sleep(0, len(acknowledged) >= before_restart + 10), timeout=15)
        finally:
            stop.set()
            await writer
        assert failures, "the outage was not noticed by a single call"
        # An outage is never the client's fault nor an internal error: UNAVAILABLE (503 + Retry-After
        # at the gateway), or the call's own deadline.
        assert set(failures) <= {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}, failures
        async with running.app.ctx.sessions() as session:
            stored = set(await session.scalars(select(models.Customer.id)))
        assert set(acknowledged) <= stored  # no acknowledged write lost

        async def all_published() -> bool:
            async with running.app.ctx.sessions() as session:
                return (
                    await session.scalar(
                        select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                    )
                    == 0
                )

        await eventually(all_published, timeout=15)


async def _is(status, wanted: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return await status() == wanted
    except grpc.aio.AioRpcError:
        return False
