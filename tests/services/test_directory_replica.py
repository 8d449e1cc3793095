"""Every domain service starts, migrates its own database (SQLite and PostgreSQL), serves
health, declares its stream, and applies identity's user events to its own directory table —
through the real event path: outbox-shaped envelope → JetStream → durable consumer → inbox."""

from __future__ import annotations

import dataclasses
import importlib
from datetime import UTC, datetime

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from salesgrid.common.v1 import directory_pb2, directory_pb2_grpc
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.platform import SERVICES as PLATFORM_SERVICES
from salesgrid_dev.testing import bearer, eventually, principal, run_service

# Every service but identity (which owns the users): a new service is covered once it is in the runner.
SERVICES = [service for service in PLATFORM_SERVICES if service != "identity"]


async def publish_user_created(nats_url: str, user: UserState, *, duplicate: bool = False) -> None:
    nc = await connect(nats_url, "test-identity")
    js = nc.jetstream()
    await ensure_stream(js, "identity", 1)
    envelope = build_envelope(
        "salesgrid.identity.user.created",
        "identity",
        user,
        EventMeta(aggregate_id=user.user_id, org_path=user.org_path),
        datetime.now(UTC),
    )
    data = envelope.SerializeToString()
    await js.publish(envelope.type, data, headers={"Nats-Msg-Id": envelope.event_id})
    if duplicate:  # a second publish of the same event id without the dedup header reaching JetStream's window
        await js.publish(envelope.type, data)
    await nc.drain()


@pytest.mark.parametrize("service", SERVICES)
async def test_service_applies_identity_user_events(service: str, database_url: str, nats_url: str, test_keys) -> None:
    app_module = importlib.import_module(f"salesgrid_{service}.app")
    async with run_service(app_module.DEFINITION, app_module.MIGRATIONS, database_url, nats_url, test_keys) as running:
        health = health_pb2_grpc.HealthStub(running.channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service=""))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING

        user = UserState(
            user_id="u-1",
            login="wang.wei",
            display_name="王伟",
            unit_id="team-1",
            org_path="/c/r1/b1/t1/",
            roles=["rep"],
            active=True,
            time_zone="Asia/Shanghai",
        )
        await publish_user_created(nats_url, user, duplicate=True)

        directory = directory_pb2_grpc.DirectoryStub(running.channel)
        admin = test_keys.token(principal(permissions={"users:read": "all"}))

        async def replicated() -> directory_pb2.DirectoryUser | None:
            try:
                return await directory.GetDirectoryUser(
                    directory_pb2.GetDirectoryUserRequest(user_id="u-1"), metadata=bearer(admin)
                )
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.NOT_FOUND
                return None

        found = await eventually(replicated)
        assert (found.login, found.org_path, found.time_zone) == ("wang.wei", "/c/r1/b1/t1/", "Asia/Shanghai")

        # The same user outside a rep's own scope is refused; no token at all is unauthenticated.
        rep = test_keys.token(principal(permissions={"users:read": "own"}, org_path="/c/r2/"))
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await directory.GetDirectoryUser(directory_pb2.GetDirectoryUserRequest(user_id="u-1"), metadata=bearer(rep))
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.aio.AioRpcError) as anonymous:
            await directory.GetDirectoryUser(directory_pb2.GetDirectoryUserRequest(user_id="u-1"))
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_deactivated_users_tokens_are_refused_by_services(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    """A still-valid access token stops working in every service once identity's
    user.deactivated event arrives: within the 2 s the platform promises, although the check is
    answered from memory (DeactivatedUsers) rather than by a query per call."""
    app_module = importlib.import_module("salesgrid_customers.app")
    async with run_service(app_module.DEFINITION, app_module.MIGRATIONS, database_url, nats_url, test_keys) as running:
        directory = directory_pb2_grpc.DirectoryStub(running.channel)
        token = test_keys.token(principal(user_id="u-2", org_path="/c/", permissions={"users:read": "own"}))
        user = UserState(
            user_id="u-2",
            login="leaver",
            display_name="Leaver",
            unit_id="c",
            org_path="/c/",
            roles=["rep"],
            active=True,
            time_zone="UTC",
        )
        await publish_user_created(nats_url, user)
        request = directory_pb2.GetDirectoryUserRequest(user_id="u-2")

        async def works() -> bool:
            try:
                return bool(await directory.GetDirectoryUser(request, metadata=bearer(token)))
            except grpc.aio.AioRpcError:
                return False

        await eventually(works)
        nc = await connect(nats_url, "test-identity")
        user.active = False
        envelope = build_envelope(
            "salesgrid.identity.user.deactivated", "identity", user, EventMeta(aggregate_id="u-2"), datetime.now(UTC)
        )
        await nc.jetstream().publish(
            envelope.type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id}
        )
        await nc.drain()

        async def refused() -> bool:
            try:
                await directory.GetDirectoryUser(request, metadata=bearer(token))
                return False
            except grpc.aio.AioRpcError as error:
                return error.code() == grpc.StatusCode.UNAUTHENTICATED

        assert await eventually(refused, timeout=2.0)


async def test_moved_units_and_users_repath_the_services_records(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    """When identity moves a unit (or a user to another unit), the org paths a service stores on
    its own records follow, so scope filters keep matching the new tree."""
    from salesgrid.customers.v1 import customers_pb2, customers_pb2_grpc
    from salesgrid.events.v1.identity_events_pb2 import OrgUnitState

    app_module = importlib.import_module("salesgrid_customers.app")
    models = importlib.import_module("salesgrid_customers.models")
    definition = dataclasses.replace(app_module.DEFINITION, metadata=models.Base.metadata)
    async with run_service(definition, app_module.MIGRATIONS, database_url, nats_url, test_keys) as running:
        rep = principal(
            user_id="rep-9", org_path="/c/r1/t1/", permissions={"customers:read": "own", "customers:create": "own"}
        )
        customers = customers_pb2_grpc.CustomersStub(running.channel)
        created = await customers.CreateCustomer(
            customers_pb2.CreateCustomerRequest(legal_name="上海迁移测试有限公司"),
            metadata=bearer(test_keys.token(rep)),
        )
        assert created.customer.org_path == "/c/r1/t1/"

        async def publish(event_type: str, payload) -> None:  # type: ignore[no-untyped-def]
            nc = await connect(nats_url, "test-identity")
            js = nc.jetstream()
            await ensure_stream(js, "identity", 1)
            envelope = build_envelope(event_type, "identity", payload, EventMeta(aggregate_id="x"), datetime.now(UTC))
            await js.publish(event_type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id})
            await nc.drain()

        director = test_keys.token(principal(permissions={"customers:read": "all"}))

        async def path_is(expected: str) -> bool:
            got = await customers.GetCustomer(
                customers_pb2.GetCustomerRequest(id=created.customer.id), metadata=bearer(director)
            )
            return got.org_path == expected

        # Region r1 moves under r2: the team's records follow.
        await publish(
            "salesgrid.identity.org_unit.moved",
            OrgUnitState(
                unit_id="r1", parent_id="r2", name="R1", path="/c/r2/r1/", previous_path="/c/r1/", active=True
            ),
        )
        assert await eventually(lambda: path_is("/c/r2/r1/t1/"))
        # The rep moves to team t9: his records follow him.
        await publish(
            "salesgrid.identity.user.moved",
            UserState(
                user_id="rep-9", login="rep9", display_name="Rep 9", unit_id="t9", org_path="/c/r3/t9/", active=True
            ),
        )
        assert await eventually(lambda: path_is("/c/r3/t9/"))
