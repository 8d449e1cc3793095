"""The operator's replay: `python -m salesgrid_customers replay-dead-letters` applies a dead letter
through the consumer's own handler, deletes it, and reports what it did."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.tables import dead_letters, inbox
from salesgrid_dev.migrated import migrate
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_replay_dead_letters_command(database_url: str, migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    state = ContractsContractState(contract_id="k1", customer_id="c1", status="signed", total="500", currency="CNY")
    envelope = build_envelope(
        "salesgrid.contracts.contract.signed", "contracts", state, EventMeta(aggregate_id="k1"), NOW, 3
    )
    async with sessions() as session, session.begin():
        await session.execute(
            insert(dead_letters).values(
                id="dl-1",
                consumer="customers-contract-facts",
                event_id=envelope.event_id,
                event_type=envelope.type,
                subject=envelope.type,
                envelope=envelope.SerializeToString(),
                error="RuntimeError('crash loop')",
                deliveries=7,
                failed_at=NOW,
            )
        )
    env = {
        **os.environ,
        "SALESGRID_DATABASE_URL": database_url,
        "SALESGRID_NATS_URL": "nats://127.0.0.1:1",
        "SALESGRID_GRPC_PORT": "1",
        "SALESGRID_IDENTITY_ADDR": "127.0.0.1:1",
        "SALESGRID_ENVIRONMENT": "test",
        "SALESGRID_METRICS_PORT": "0",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "salesgrid_customers", "replay-dead-letters"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "applied 1, already applied 0, still failing 0" in result.stdout
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(dead_letters)) == 0
        assert await session.scalar(select(inbox.c.consumer)) == "customers-contract-facts"
        assert (await session.get(models.ContractFact, "k1")).status == "signed"


async def test_backup_and_restore_commands(database_url: str, nats_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from salesgrid_common.events.bus import connect, ensure_stream
    from salesgrid_common.events.consumer import EventConsumer
    from salesgrid_common.events.tables import aggregate_versions
    from salesgrid_customers.handlers import contracts_subscription

    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    nc = await connect(nats_url, "restore-test")
    js = nc.jetstream()
    await ensure_stream(js, "contracts", 1)
    await js.add_consumer("SALESGRID_CONTRACTS", EventConsumer(contracts_subscription(), js, sessions).config())
    env = {
        **os.environ,
        "SALESGRID_DATABASE_URL": database_url,
        "SALESGRID_NATS_URL": nats_url,
        "SALESGRID_GRPC_PORT": "1",
        "SALESGRID_IDENTITY_ADDR": "127.0.0.1:1",
        "SALESGRID_ENVIRONMENT": "test",
        "SALESGRID_METRICS_PORT": "0",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "salesgrid_customers", *args], env=env, capture_output=True, text=True, timeout=60
        )

    try:
        async with sessions() as session, session.begin():
            await session.execute(insert(aggregate_versions).values(aggregate_id="c1", version=4))
        made = await asyncio.to_thread(cli, "backup", str(tmp_path / "backups"), "--keep", "2")
        assert made.returncode == 0, made.stderr
        backup_file = made.stdout.strip()
        async with sessions() as session, session.begin():
            await session.execute(aggregate_versions.update().values(version=9))  # written after the backup
        await engine.dispose()
        restored = await asyncio.to_thread(cli, "restore", backup_file)
        assert restored.returncode == 0, restored.stderr
        assert "consumers rewound: customers-contract-facts" in restored.stdout
        async with sessions() as session:
            assert await session.scalar(select(aggregate_versions.c.version)) == 4 + 1_000_000
        assert [c.name for c in await js.consumers_info("SALESGRID_CONTRACTS")] == []
    finally:
        await nc.close()
        await engine.dispose()
