"""Puts this folder on sys.path: --import-mode=importlib does not, and the import tests share the
service helpers of test_customers_service.py. `sessions`: sessions on a migrated throwaway
database (SQLite or PostgreSQL, per `database_url`), for the store and handler tests."""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_dev.migrated import migrate
from salesgrid_customers.app import MIGRATIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
