"""Puts this folder on sys.path: --import-mode=importlib does not, and the gRPC tests share the
service helpers of customers_fixtures.py. `sessions`: sessions on a migrated throwaway
database (SQLite or PostgreSQL, per `database_url`), for the store and handler tests."""

import sys
from pathlib import Path

import pytest

from salesgrid_common.db import SessionFactory
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_customers.app import MIGRATIONS

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture
async def sessions(migrated: Migrated) -> SessionFactory:
    return await migrated(MIGRATIONS)
