"""The SQL statements the hot paths issue (use cases on a fresh SQLite database each): GetCustomer,
a manager's ListCustomers page, a bulk import batch, LogFollowUp and GetMe. Run it with two
checkouts' interpreters and diff the outputs to see that a refactoring kept the statements:
`.venv/bin/python bench/hot_path_statements.py > after.txt`."""

from __future__ import annotations

import asyncio
import io
import tempfile
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.migrations import upgrade
from salesgrid_dev.testing import TestKeys, principal

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
captured: list[str] = []


async def migrated_engine(migrations: Any, url: str) -> AsyncEngine:
    await asyncio.to_thread(upgrade, migrations, url)
    engine = create_engine(url)

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        captured.append(" ".join(statement.split()))

    return engine


def show(label: str) -> None:
    print(f"== {label}: {len(captured)} statements")
    for statement in captured:
        print("   ", statement[:400])
    captured.clear()


async def customers(tmp: str) -> None:
    from salesgrid_customers.app import MIGRATIONS
    from salesgrid_customers.usecases import CustomersUseCases

    engine = await migrated_engine(MIGRATIONS, f"sqlite+aiosqlite:///{tmp}/customers.db")
    uc = CustomersUseCases(session_factory(engine), Outbox("customers"), lambda: NOW)
    rep = principal("rep-a", "/c/sz/", "sz", {f"customers:{p}": "own" for p in ("create", "read", "update")})
    manager = principal("mgr", "/c/sz/", "sz", {"customers:read": "subtree"})
    created, _ = await uc.create_customer(rep, legal_name="深圳市腾讯计算机系统有限公司")
    for name in ("Acme Widgets Ltd", "Globex Trading Co"):
        await uc.create_customer(rep, legal_name=name)
    rows = "".join(f"Import Co {i},retail\n" for i in range(20))
    await uc.start_import(rep, "csv", io.BytesIO(f"legal_name,industry\n{rows}".encode()))
    captured.clear()
    await uc.run_imports()
    show("bulk import (run_imports, 20 rows)")
    await uc.get_customer(rep, created.id)
    show("GetCustomer")
    await uc.list_customers(manager, page_size=50)
    show("ListCustomers (manager page)")
    await engine.dispose()


async def activities(tmp: str) -> None:
    from salesgrid_activities.app import MIGRATIONS
    from salesgrid_activities.usecases import ActivitiesUseCases

    engine = await migrated_engine(MIGRATIONS, f"sqlite+aiosqlite:///{tmp}/activities.db")
    uc = ActivitiesUseCases(session_factory(engine), Outbox("activities"), lambda: NOW)
    rep = principal("rep-a", "/c/sz/", "sz", {"activities:create": "own", "activities:read": "own"})
    captured.clear()
    await uc.log_follow_up(
        rep,
        kind="call",
        occurred_at=NOW,
        notes="called",
        customer_id="c-1",
        contact_id="",
        opportunity_id="",
        lead_id="",
        next_follow_up_on="",
    )
    show("LogFollowUp")
    await engine.dispose()


async def identity(tmp: str) -> None:
    from salesgrid_identity.app import MIGRATIONS
    from salesgrid_identity.keys import SigningKeys
    from salesgrid_identity.settings import IdentitySettings
    from salesgrid_identity.usecases import IdentityUseCases

    url = f"sqlite+aiosqlite:///{tmp}/identity.db"
    engine = await migrated_engine(MIGRATIONS, url)
    settings = IdentitySettings(
        database_url=url,
        environment="test",
        grpc_port=50051,
        service_name="identity",
        nats_url="nats://localhost:4222",
        metrics_port=0,
        jwt_issuer="bench",
        jwt_audience="bench",
    )
    pem = TestKeys().private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    uc = IdentityUseCases(
        session_factory(engine), Outbox("identity"), settings, SigningKeys(pem.decode(), "k1"), lambda: NOW
    )
    admin_id = await uc.bootstrap_admin("admin", "Correct-Horse-9-Battery", "Acme", "Asia/Shanghai", "CNY")
    _, admin = await uc.get_user(principal("auditor", "/", "", {"users:read": "all"}), admin_id)
    captured.clear()
    await uc.me(principal(admin_id, admin.org_path, admin.unit_id, {}))
    show("GetMe")
    await engine.dispose()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await customers(tmp)
        await activities(tmp)
        await identity(tmp)


if __name__ == "__main__":
    asyncio.run(main())
