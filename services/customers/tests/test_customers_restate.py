"""The backfill of other services' customer projections (restate.py, SQLite and PostgreSQL): every
customer, active or not, created through the API or written straight into the database, is
re-stated once with its current state and a version newer than any event before it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_customers import models
from salesgrid_customers.restate import RESTATED, restate_customers

from customers_fixtures import running_customers, seed_directory, token


def legacy_row(customer_id: str, name: str, active: bool) -> models.Customer:
    """A customer written before events existed (an old import): no event ever told anyone."""
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return models.Customer(
        id=customer_id,
        legal_name=name,
        normalised_name=name,
        tier="normal",
        tags=[],
        owner_id="rep-a",
        org_path="/c/r1/b1/t1/",
        active=active,
        version=1,
        created_by="import",
        created_at=now,
        updated_at=now,
    )


async def test_every_customer_is_restated_with_its_current_state_and_a_newer_version(  # type: ignore[no-untyped-def]
    database_url: str, nats_url: str, test_keys
) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        rep = token(test_keys, "rep-a")
        made = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="深圳新建客户有限公司"), metadata=rep)
        ).customer
        await api.UpdateCustomer(
            pb.UpdateCustomerRequest(id=made.id, expected_version=made.version, legal_name="深圳改名客户有限公司"),
            metadata=rep,
        )
        async with running.app.ctx.sessions() as session, session.begin():
            session.add(legacy_row("legacy-1", "杭州老客户有限公司", True))
            session.add(legacy_row("legacy-2", "南京已停用客户有限公司", False))

        ctx = running.app.ctx
        assert await restate_customers(ctx.sessions, ctx.outbox, ctx.clock, batch=2) == 3

        async with ctx.sessions() as session:
            rows = (
                await session.execute(select(outbox.c.subject, outbox.c.envelope).order_by(outbox.c.event_id))
            ).all()
        envelopes = [(subject, parse_envelope(data)) for subject, data in rows]
        restated = {e.aggregate_id: e for subject, e in envelopes if subject == RESTATED}
        assert sorted(restated) == sorted([made.id, "legacy-1", "legacy-2"])
        names = {i: unpack(e, CustomerRecordState).legal_name for i, e in restated.items()}
        assert names == {
            made.id: "深圳改名客户有限公司",  # the current state, not the created one
            "legacy-1": "杭州老客户有限公司",
            "legacy-2": "南京已停用客户有限公司",
        }
        before = [e.aggregate_version for subject, e in envelopes if e.aggregate_id == made.id and subject != RESTATED]
        assert before and restated[made.id].aggregate_version > max(before)  # projections take it as newest
        assert unpack(restated["legacy-1"], CustomerRecordState).org_path == "/c/r1/b1/t1/"
        assert restated["legacy-1"].org_path == "/c/r1/b1/t1/" and restated["legacy-1"].actor_id == "system:customers"


def test_the_restate_customers_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`python -m salesgrid_customers restate-customers` records the re-statements in the outbox
    (the running service's relay publishes them)."""
    db = tmp_path / "customers.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESGRID_")} | {
        "SALESGRID_ENVIRONMENT": "test",
        "SALESGRID_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "SALESGRID_NATS_URL": "nats://127.0.0.1:1",
        "SALESGRID_GRPC_PORT": "50057",
        "SALESGRID_IDENTITY_ADDR": "127.0.0.1:1",
    }

    def command(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "salesgrid_customers", name],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert command("migrate").returncode == 0
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO customers (id, legal_name, normalised_name, tier, tags, owner_id, org_path, active,"
            " version, created_by, created_at, updated_at, custom_fields)"
            " VALUES ('old-1', '老客户有限公司', '老客户有限公司', 'normal', '[]', 'rep-a', '/c/', 1, 1, 'import',"
            " '2025-01-01 00:00:00', '2025-01-01 00:00:00', '{}')"
        )
    done = command("restate-customers")
    assert done.returncode == 0, done.stderr
    assert "restated 1 customers" in done.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT subject FROM outbox").fetchall() == [(RESTATED,)]
