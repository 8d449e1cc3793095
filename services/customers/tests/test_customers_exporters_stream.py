"""Every export of customers streams its rows from a server-side cursor in batches of at most 1,000, on
SQLite and PostgreSQL (issue 17; salesgrid_dev.exports_check)."""
from __future__ import annotations

import asyncio

from salesgrid_common.db import create_engine, create_reader
from salesgrid_common.migrations import upgrade
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.exports import EXPORTERS
from salesgrid_dev.exports_check import assert_exporters_stream
from salesgrid_dev.testing import principal

READ_ALL = {p: "all" for p in ("customers:read", "leads:read", "opportunities:read", "activities:read",
                               "contracts:read", "payments:read")}


async def test_every_exporter_streams(database_url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    reader = create_reader(database_url, engine)
    try:
        assert EXPORTERS
        await assert_exporters_stream(EXPORTERS, reader, principal("auditor", "/c/", permissions=READ_ALL))
    finally:
        await engine.dispose()
        if reader is not engine:
            await reader.dispose()
