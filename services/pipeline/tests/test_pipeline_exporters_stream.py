"""Every export of pipeline streams its rows from a server-side cursor in batches of at most 1,000, on
SQLite and PostgreSQL (issue 17; salesgrid_dev.exports_check)."""

from __future__ import annotations

from salesgrid_pipeline.app import MIGRATIONS
from salesgrid_pipeline.exports import EXPORTERS
from salesgrid_dev.exports_check import assert_service_exporters_stream


async def test_every_exporter_streams(database_url: str) -> None:
    await assert_service_exporters_stream(MIGRATIONS, EXPORTERS, database_url)
