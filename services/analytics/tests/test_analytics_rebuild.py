"""Rebuild equality: events (duplicated, interleaved across streams) fed to the live service, then
every stream replayed into a second, fresh database; both hold the same facts and inbox and
answer every report the same. Also: the projection-lag metric is observed for applied facts."""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from salesgrid.analytics.v1 import analytics_pb2 as pb
from salesgrid.analytics.v1 import analytics_pb2_grpc as pb_grpc
from salesgrid_analytics.app import DEFINITION, MIGRATIONS
from salesgrid_analytics.models import StageModelRow, StoredFact, TargetRow
from salesgrid_analytics.rebuild import NotFresh, rebuild
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.packs import encode_pack
from salesgrid_common.events.tables import inbox
from salesgrid_common.ids import new_id
from salesgrid_dev.testing import TestKeys, bearer, eventually, principal, run_service
from sqlalchemy import func, select
from test_analytics_service import EVENTS, NOW, Q2, target

PRODUCERS = ("identity", "customers", "pipeline", "activities", "contracts")
# the public-pool customer is nobody's new customer; a published stage model is kept in stage_models
STORED = len(EVENTS) - 1 - sum(1 for t, *_ in EVENTS if t == "salesgrid.pipeline.stage_model.published")
IDENTITY_EVENTS = sum(1 for t, *_ in EVENTS if t.startswith("salesgrid.identity."))


@pytest.fixture
def second_url(database_url: str, request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh database of the same engine as `database_url`."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}"
    return request.getfixturevalue("postgres").create_database("r_" + re.sub(r"[^a-z0-9]", "", new_id().lower())[-20:])


async def publish_interleaved(nats_url: str, seed: int, packed: bool = False) -> None:
    """Every event twice: once with JetStream's dedup id, later again without it (a redelivered
    duplicate in the stream); the streams interleaved at random, each stream's order kept.
    `packed`: each message a pack (events.packs), as the relay sends waiting rows."""
    nc = await connect(nats_url, "test-producers")
    js = nc.jetstream()
    for producer in PRODUCERS:
        await ensure_stream(js, producer, 1)
    envelopes = [
        build_envelope(t, t.split(".")[1], payload, EventMeta(aggregate_id="agg", org_path=path), when)
        for t, payload, path, when in EVENTS
    ]
    queues = {p: [e for e in envelopes if e.type.split(".")[1] == p] for p in PRODUCERS}
    queues = {p: [(e, True) for e in q] + [(e, False) for e in q] for p, q in queues.items()}
    rng = random.Random(seed)
    while any(queues.values()):
        envelope, with_id = queues[rng.choice([p for p, q in queues.items() if q])].pop(0)
        headers = {"Nats-Msg-Id": envelope.event_id} if with_id else None
        data = envelope.SerializeToString()
        await js.publish(envelope.type, encode_pack([(data, {})]) if packed else data, headers=headers)
    await nc.drain()


async def snapshot(url: str) -> tuple[list[tuple], list[tuple], list[tuple]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            facts = [
                (r.event_id, r.kind, r.occurred_at, r.owner_id, r.org_path, r.data)
                for r in (await session.scalars(select(StoredFact).order_by(StoredFact.event_id))).all()
            ]
            seen = [
                tuple(r)
                for r in (
                    await session.execute(
                        select(inbox.c.consumer, inbox.c.event_id, inbox.c.event_type).order_by(
                            inbox.c.consumer, inbox.c.event_id
                        )
                    )
                ).all()
            ]
            targets = [
                (t.metric, t.period, t.org_path, t.rep_id, t.amount, t.currency)
                for t in (await session.scalars(select(TargetRow).order_by(TargetRow.id))).all()
            ]
            models = [
                (m.code, m.version, m.definition)
                for m in (await session.scalars(select(StageModelRow).order_by(StageModelRow.code))).all()
            ]
        return facts, seen, targets + models
    finally:
        await engine.dispose()


async def reports(api: pb_grpc.AnalyticsStub, metadata) -> list:  # type: ignore[no-untyped-def]
    by_unit = pb.AnalyticsQuery(period="2026-Q2", time_zone="Asia/Shanghai", currency="CNY", group_depth=3)
    return [
        await api.GetFunnel(Q2, metadata=metadata),
        await api.GetPerformance(Q2, metadata=metadata),
        await api.GetPerformance(by_unit, metadata=metadata),
        await api.GetForecast(Q2, metadata=metadata),
        await api.GetDashboard(Q2, metadata=metadata),
        await api.ListTargets(pb.ListTargetsRequest(time_zone="Asia/Shanghai"), metadata=metadata),
    ]


def lag_count() -> float:
    return sum(
        REGISTRY.get_sample_value("salesgrid_projection_lag_seconds_count", {"kind": kind}) or 0.0
        for kind in ("customer_created", "contract_signed", "follow_up_logged")
    )


async def test_analytics_rebuild_equals_live(
    database_url: str, second_url: str, nats_url: str, test_keys: TestKeys
) -> None:
    director = bearer(
        test_keys.token(
            principal(
                user_id="boss",
                org_path="/c/",
                permissions={"analytics:read": "all", "targets:read": "all", "targets:update": "all"},
            )
        )
    )
    lag_before = lag_count()
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=lambda: NOW) as running:
        api = pb_grpc.AnalyticsStub(running.channel)
        await publish_interleaved(nats_url, seed=8, packed=True)

        async def settled() -> bool:
            facts, seen, _ = await snapshot(database_url)
            # identity's events are read twice: into facts and into the directory replica
            return (len(facts), len(seen)) == (STORED, len(EVENTS) + IDENTITY_EVENTS) or None  # type: ignore[return-value]

        await eventually(settled, timeout=20)
        await api.SetTargets(
            pb.SetTargetsRequest(parent=target("contract_amount", "2026-Q2", "/c/", "3000.00", "CNY")),
            metadata=director,
        )
        live_reports = await reports(api, director)
    live = await snapshot(database_url)
    assert lag_count() - lag_before == 3  # one observation per applied fact, none for duplicates

    counts = await rebuild(second_url, nats_url, migrations=MIGRATIONS, targets_from=database_url)
    assert counts["targets"] == 1 and counts["analytics-contracts-facts"] == 2
    rebuilt = await snapshot(second_url)
    assert len(rebuilt[0]) == STORED
    assert rebuilt == live

    # A rebuild fills only a fresh database.
    with pytest.raises(NotFresh):
        await rebuild(second_url, nats_url)

    # The rebuilt database, served, answers every report the same (its consumers pick up where
    # the live ones stopped: nothing is applied twice).
    async with run_service(DEFINITION, MIGRATIONS, second_url, nats_url, test_keys, clock=lambda: NOW) as running:
        assert await reports(pb_grpc.AnalyticsStub(running.channel), director) == live_reports
    assert live_reports[0].won == 1 and live_reports[5].targets[0].actual == "1000.00"
    engine = create_engine(second_url)
    async with session_factory(engine)() as session:
        assert await session.scalar(select(func.count()).select_from(StoredFact)) == STORED
    await engine.dispose()


def test_analytics_rebuild_command(nats_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python -m salesgrid_analytics rebuild NEW_URL` replays the streams into a new database;
    a second run into the same (no longer fresh) database is refused."""
    asyncio.run(publish_interleaved(nats_url, seed=3))
    live, fresh = tmp_path / "live.db", tmp_path / "fresh.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGRID_")} | {
        "SALESGRID_ENVIRONMENT": "test",
        "SALESGRID_DATABASE_URL": f"sqlite+aiosqlite:///{live}",
        "SALESGRID_NATS_URL": nats_url,
        "SALESGRID_GRPC_PORT": "50056",
        "SALESGRID_IDENTITY_ADDR": "127.0.0.1:1",
    }
    assert (
        subprocess.run([sys.executable, "-m", "salesgrid_analytics", "migrate"], env=env, check=False).returncode == 0
    )

    def rebuild_into(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "salesgrid_analytics", "rebuild", f"sqlite+aiosqlite:///{path}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = rebuild_into(fresh)
    assert done.returncode == 0, done.stderr
    assert "analytics-contracts-facts: 2 applied" in done.stdout and "targets: 0 applied" in done.stdout
    with sqlite3.connect(fresh) as db:
        assert db.execute("SELECT count(*) FROM facts").fetchone() == (STORED,)
    again = rebuild_into(fresh)
    assert again.returncode == 2 and "fresh" in again.stdout
