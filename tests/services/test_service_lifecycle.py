"""Health follows the dependencies: SERVING only while the database and NATS answer, NOT_SERVING
as soon as NATS is gone, SERVING again when it is back; metrics expose RED per RPC."""
from __future__ import annotations

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
            handled = REGISTRY.get_sample_value("grpc_server_handled_total", {
                "grpc_service": "grpc.health.v1.Health", "grpc_method": "Check", "grpc_code": "OK"})
            assert handled and handled >= 3
    finally:
        nats.stop()


async def _is(status, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await status() == expected


