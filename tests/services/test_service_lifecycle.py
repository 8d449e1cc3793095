"""Health follows the dependencies: SERVING only while the database and NATS answer, NOT_SERVING
as soon as NATS is gone, SERVING again when it is back; metrics expose RED per RPC."""

from __future__ import annotations

import asyncio
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY

from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_dev.processes import NatsServer
from salesgrid_dev.testing import eventually, run_service


async def test_health_tracks_nats_and_rpc_metrics_are_recorded(tmp_path: Path, test_keys) -> None:  # type: ignore[no-untyped-def]
    nats = NatsServer(tmp_path / "nats").start()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
        async with run_service(DEFINITION, MIGRATIONS, url, nats.url, test_keys) as running:
            health = health_pb2_grpc.HealthStub(running.channel)

            async def status() -> int:
                return (await health.Check(health_pb2.HealthCheckRequest(service=""))).status

            assert await status() == health_pb2.HealthCheckResponse.SERVING
            nats.stop()
            await eventually(lambda: _is(status, health_pb2.HealthCheckResponse.NOT_SERVING), timeout=15)
            nats.start()  # same port and data directory: the client reconnects
            await eventually(lambda: _is(status, health_pb2.HealthCheckResponse.SERVING), timeout=20)
            handled = REGISTRY.get_sample_value(
                "grpc_server_handled_total",
                {"grpc_service": "grpc.health.v1.Health", "grpc_method": "Check", "grpc_code": "OK"},
            )
            assert handled and handled >= 3
    finally:
        nats.stop()


async def _is(status, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await status() == expected


async def test_every_rpc_writes_one_structured_log_line(tmp_path: Path, test_keys, caplog) -> None:  # type: ignore[no-untyped-def]
    """One line per RPC with method, status, duration, request id, trace id and principal; the
    caller's token never appears in it."""
    import logging

    import grpc
    from salesgrid.customers.v1 import customers_pb2, customers_pb2_grpc

    from salesgrid_dev.testing import principal

    nats = NatsServer(tmp_path / "nats").start()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
        async with run_service(DEFINITION, MIGRATIONS, url, nats.url, test_keys) as running:
            token = test_keys.token(principal(user_id="rep-log", permissions={"customers:read": "own"}))
            stub = customers_pb2_grpc.CustomersStub(running.channel)
            caplog.set_level(logging.INFO, logger="salesgrid_common.rpc")
            trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
            try:
                await stub.GetCustomer(
                    customers_pb2.GetCustomerRequest(id="no-such-customer"),
                    metadata=(
                        ("authorization", f"Bearer {token}"),
                        ("x-request-id", "req-42"),
                        ("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01"),
                    ),
                )
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.NOT_FOUND

            async def logged() -> list[logging.LogRecord]:
                # written when the server's handling ends, which may be just after the client has its answer
                return [
                    r
                    for r in caplog.records
                    if r.name == "salesgrid_common.rpc" and r.grpc_method.endswith("/GetCustomer")  # type: ignore[attr-defined]
                ]

            lines = await eventually(logged, timeout=5)
            await asyncio.sleep(0.1)  # and no second line follows
            assert len(await logged()) == 1
            line = lines[0]
            assert (line.grpc_code, line.request_id, line.principal_id, line.principal_kind, line.trace_id) == (  # type: ignore[attr-defined]
                "NOT_FOUND",
                "req-42",
                "rep-log",
                "user",
                trace_id,
            )
            assert line.duration_ms >= 0  # type: ignore[attr-defined]
            assert token not in str(line.__dict__)
    finally:
        nats.stop()


async def test_a_stop_is_prompt_even_when_a_task_swallows_its_cancellation(tmp_path: Path, test_keys) -> None:  # type: ignore[no-untyped-def]
    """A background task that swallows a cancellation (as nats-py's fetch can on Python 3.11) is
    cancelled again, and the NATS connection is closed, not drained: the stop takes well under a
    second (it took the 5 s task bound plus the 3 s drain bound before)."""
    import asyncio
    import dataclasses
    import time

    ended: list[str] = []

    async def stubborn() -> None:
        swallowed = False
        try:
            while True:
                try:
                    await asyncio.sleep(0.01)
                except asyncio.CancelledError:
                    if swallowed:
                        raise
                    swallowed = True  # the first cancellation is lost; the loop goes on
        finally:
            ended.append("stubborn")

    definition = dataclasses.replace(DEFINITION, background=lambda ctx: [*DEFINITION.background(ctx), stubborn()])
    nats = NatsServer(tmp_path / "nats").start()
    try:
        url = f"sqlite+aiosqlite:///{tmp_path / 'customers.db'}"
        async with run_service(definition, MIGRATIONS, url, nats.url, test_keys) as running:
            await asyncio.sleep(1.0)  # consumers subscribed and fetching
            started = time.perf_counter()
            await running.app.stop()
            stopped_in = time.perf_counter() - started
            running.app.stop = _already_stopped  # type: ignore[method-assign]
        assert ended == ["stubborn"]
        assert stopped_in < 2.0, stopped_in
    finally:
        nats.stop()


async def _already_stopped() -> None:
    return None
