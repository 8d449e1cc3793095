"""Multi-region cells on a real NATS supercluster (two nats-servers, each its own cluster, joined
by gateways): each region's services publish into their own regional stream, consumers in a
region read only their region, and HQ read models consume every region through an aggregate
stream that sources the regional ones."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.directory import directory_subscription
from salesgrid_common.directory_tables import directory_metadata, directory_users
from salesgrid_common.events.bus import JetStreamPublisher, connect, ensure_stream
from salesgrid_common.events.consumer import EventConsumer, Topology
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.events.tables import event_metadata
from salesgrid_dev.processes import free_port, nats_server_binary, wait_for_port
from salesgrid_dev.testing import eventually

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REGIONS = ("east", "hq")


@pytest.fixture
def supercluster(tmp_path: Path) -> Iterator[dict[str, str]]:
    ports = {r: (free_port(), free_port(), free_port()) for r in REGIONS}  # client, gateway, route
    processes = []
    try:
        for region, (client, gateway, route) in ports.items():
            peers = ", ".join(f'{{name: "{r}", url: "nats://127.0.0.1:{g}"}}' for r, (_, g, _) in ports.items())
            config = tmp_path / f"{region}.conf"
            config.write_text(
                f'server_name: "{region}-1"\nlisten: "127.0.0.1:{client}"\n'
                f'jetstream {{ store_dir: "{tmp_path / region}" }}\n'
                # A one-server cluster still needs a route configured for JetStream clustering.
                f'cluster {{ name: "{region}", listen: "127.0.0.1:{route}", routes: ["nats://127.0.0.1:{route}"] }}\n'
                f'gateway {{ name: "{region}", listen: "127.0.0.1:{gateway}", gateways: [{peers}] }}\n'
            )
            log = open(tmp_path / f"{region}.log", "ab")
            processes.append(subprocess.Popen([nats_server_binary(), "-c", str(config)], stdout=log, stderr=log))
        for region, (client, _, _) in ports.items():
            wait_for_port(client, 15, what=f"nats {region}")
        yield {region: f"nats://127.0.0.1:{client}" for region, (client, _, _) in ports.items()}
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


async def database(path: Path) -> SessionFactory:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(event_metadata.create_all)
        await conn.run_sync(directory_metadata.create_all)
    return session_factory(engine)


async def jetstream_ready(url: str):  # type: ignore[no-untyped-def]
    """The supercluster's JetStream meta group needs a moment to elect a leader."""
    nc = await connect(url, "probe")
    js = nc.jetstream()

    async def ready() -> bool:
        try:
            await js.account_info()
            return True
        except Exception:
            return False

    await eventually(ready, timeout=30, interval=0.5)
    return nc, js


async def test_regional_streams_and_hq_aggregate(supercluster: dict[str, str], tmp_path: Path) -> None:
    # identity in the east cell publishes a user into its regional stream.
    east_nc, east_js = await jetstream_ready(supercluster["east"])
    await ensure_stream(east_js, "identity", 1, region="east")
    producer_db = await database(tmp_path / "identity-east.db")
    outbox = Outbox("identity", region="east")
    async with producer_db() as session, session.begin():
        await outbox.record(
            session,
            "salesgrid.identity.user.created",
            UserState(user_id="u-east", login="li.east", org_path="/c/east/", active=True),
            EventMeta(aggregate_id="u-east"),
            NOW,
        )
    relay = OutboxRelay(
        "identity",
        producer_db,
        JetStreamPublisher(east_js),
        outbox.signal,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'identity-east.db'}",
    )
    assert await relay.publish_pending() == 1
    assert (await east_js.stream_info("SALESGRID_IDENTITY_EAST")).config.subjects == ["east.salesgrid.identity.>"]

    # A service of the east cell reads its own region's stream.
    east_db = await database(tmp_path / "customers-east.db")
    east_consumer = EventConsumer(
        directory_subscription("customers"), east_js, east_db, topology=Topology(region="east")
    )
    # HQ analytics, connected to the HQ cluster, sources the east stream across the gateway.
    hq_nc, hq_js = await jetstream_ready(supercluster["hq"])
    hq_db = await database(tmp_path / "analytics-hq.db")
    hq_consumer = EventConsumer(
        directory_subscription("analytics"), hq_js, hq_db, topology=Topology(source_regions=("east",))
    )
    tasks = [asyncio.create_task(east_consumer.run()), asyncio.create_task(hq_consumer.run())]

    async def replicated(sessions: SessionFactory) -> str | None:
        async with sessions() as session:
            return await session.scalar(select(directory_users.c.login).where(directory_users.c.user_id == "u-east"))

    try:
        assert await eventually(lambda: replicated(east_db), timeout=20) == "li.east"
        assert await eventually(lambda: replicated(hq_db), timeout=30) == "li.east"
        info = await hq_js.stream_info("SALESGRID_IDENTITY_ALL")
        assert [source.name for source in info.config.sources] == ["SALESGRID_IDENTITY_EAST"]
        assert info.cluster.name == "hq"  # the aggregate lives in the HQ cell
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Closed, not drained: the cancelled consumers' pull subscriptions hold messages nobody
        # will read, and a drain waited its whole 30 s timeout for them (as service stops did).
        await east_nc.close()
        await hq_nc.close()
