"""`new_server` serves every method through its service's generic handler: grpc.aio's serving loop
then waits on one pending request per server instead of one per registered method (an
`asyncio.wait` over all of them on every call), and the methods, interceptors and "unknown method"
answers work as on a default server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from salesgrid.customers.v1 import customers_pb2, customers_pb2_grpc

from salesgrid_common.grpc_server import new_server


class Seen(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self.methods: list[str] = []

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        self.methods.append(details.method)
        return await continuation(details)


class Customers(customers_pb2_grpc.CustomersServicer):
    async def GetCustomer(self, request: Any, context: Any) -> Any:
        return customers_pb2.Customer(id=request.id, legal_name="constant")


def pending_requests() -> list[str]:
    """The serving loop's pending "next call" requests, one task each."""
    names = [task.get_coro().__qualname__ for task in asyncio.all_tasks()]  # type: ignore[union-attr]
    return [name for name in names if name.startswith("AioServer._request")]


async def started(server: grpc.aio.Server) -> tuple[int, list[str]]:
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    customers_pb2_grpc.add_CustomersServicer_to_server(Customers(), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await asyncio.sleep(0.05)
    return port, pending_requests()


async def test_a_default_server_waits_on_one_request_per_registered_method() -> None:
    server = grpc.aio.server()
    try:
        _port, pending = await started(server)
        assert len(pending) > 20  # what new_server avoids: each is in every call's asyncio.wait
    finally:
        await server.stop(0)


async def test_new_server_waits_on_one_request_and_serves_every_method() -> None:
    seen = Seen()
    server = new_server([seen])
    try:
        port, pending = await started(server)
        assert pending == ["AioServer._request_call"]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            customers = customers_pb2_grpc.CustomersStub(channel)  # type: ignore[no-untyped-call]
            got = await customers.GetCustomer(customers_pb2.GetCustomerRequest(id="c-1"))
            assert (got.id, got.legal_name) == ("c-1", "constant")
            with pytest.raises(grpc.aio.AioRpcError) as missing:  # generated but not implemented here
                await customers.ListCustomers(customers_pb2.ListCustomersRequest())
            assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED
            unknown = channel.unary_unary("/salesgrid.nowhere.v1.Nothing/Call")
            with pytest.raises(grpc.aio.AioRpcError) as nowhere:
                await unknown(b"")
            assert nowhere.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert seen.methods[:2] == [
            "/grpc.health.v1.Health/Check",
            "/salesgrid.customers.v1.Customers/GetCustomer",
        ]
    finally:
        await server.stop(0)
