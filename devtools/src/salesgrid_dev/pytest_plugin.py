"""Fixtures every Salesgrid test suite can use (registered as a pytest plugin):

- `nats_url`: a fresh real nats-server with JetStream for the test;
- `postgres`: one throwaway PostgreSQL cluster per session (fails, never skips, if it cannot start);
- `database_url`: parametrised over SQLite and PostgreSQL, a fresh empty database per test;
  `salesgrid_dev.migrated.migrate` (run_service uses it) gives it a copy of a template migrated once;
- `migrated`: `await migrated(MIGRATIONS)` is a session factory on `database_url` migrated to
  head by a service's migrations (`salesgrid_dev.migrated`), its engine disposed after the test;
- `test_keys`: a signing key pair whose JWKS the services under test trust;
- each test's call-phase report in `item.stash[CALL_REPORT]` (browser tests take screenshots when it failed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.ids import new_id
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_dev.migrated import migrate
from salesgrid_dev.processes import NatsServer, ThrowawayPostgres
from salesgrid_dev.testing import TestKeys

CALL_REPORT = pytest.StashKey[pytest.TestReport]()
Migrated = Callable[[Any], Awaitable[SessionFactory]]  # the `migrated` fixture: migrations dir -> sessions


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[CALL_REPORT] = report


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server.url
    finally:
        server.discard()


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    try:
        cluster = ThrowawayPostgres(in_memory=True).start()
    except Exception as exc:
        pytest.fail(f"could not start a throwaway PostgreSQL cluster: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
    name = "t_" + re.sub(r"[^a-z0-9]", "", new_id().lower())[-20:]
    return cluster.create_database(name)


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[Migrated]:
    engines: list[AsyncEngine] = []

    async def sessions(migrations: Any) -> SessionFactory:
        await asyncio.to_thread(migrate, migrations, database_url)
        engines.append(create_engine(database_url))
        return session_factory(engines[-1])

    try:
        yield sessions
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.fixture
def test_keys() -> TestKeys:
    return TestKeys()
