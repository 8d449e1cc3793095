"""Fixtures the event-pipeline tests of this folder share, and this folder on sys.path
(--import-mode=importlib does not put it there) so they import `common_event_harness`.

- `sessions`: a fresh database (SQLite and PostgreSQL, through `database_url`) holding the event
  tables and the test module's own tables, which the module names by overriding `side_tables`;
- `js`: JetStream on a fresh nats-server with the identity stream."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData

from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.bus import connect, ensure_stream
from salesgrid_common.events.tables import event_metadata

sys.path[:0] = [str(Path(__file__).resolve().parent)]


@pytest.fixture
def side_tables() -> list[MetaData]:
    """The test module's own tables, created beside the event tables (a module overrides this)."""
    return []


@pytest.fixture
async def sessions(database_url: str, side_tables: list[MetaData]) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(event_metadata.create_all)
        for tables in side_tables:
            await conn.run_sync(tables.create_all)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def js(nats_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    nc = await connect(nats_url, request.module.__name__.rpartition(".")[2])
    context = nc.jetstream()
    await ensure_stream(context, "identity", 1)
    yield context
    await nc.close()
