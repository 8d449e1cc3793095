"""Test helper: an exporter's rows come from a streamed query (server-side cursor, batches of at
most `BATCH`), never from a result loaded whole (issue 17: 1,000,000 rows without holding them).
services/customers/tests/test_customers_export_streaming.py also follows the rows into the file."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import create_engine, create_reader, session_factory
from salesgrid_common.exports.jobs import Exporter
from salesgrid_common.migrations import upgrade
from salesgrid_dev.testing import principal

BATCH = 1000


async def select_options(
    exporter: Exporter, reader: AsyncEngine, principal: Principal, filters: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The execution options of every SELECT the exporter's rows ran, read to the end."""
    assert exporter.rows is not None, f"{exporter.entity} is a computed table, not a query"
    seen: list[dict[str, Any]] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append(dict(context.execution_options))

    event.listen(reader.sync_engine, "before_cursor_execute", on_execute)
    try:
        async with session_factory(reader)() as session:
            async for _row in exporter.rows(session, principal, filters):
                pass
    finally:
        event.remove(reader.sync_engine, "before_cursor_execute", on_execute)
    return seen


async def assert_exporters_stream(exporters: list[Exporter], reader: AsyncEngine, principal: Principal) -> None:
    for exporter in exporters:
        if exporter.rows is None:
            continue
        filters = {name: "x" for name in exporter.required}
        options = await select_options(exporter, reader, principal, filters)
        assert options, f"{exporter.entity}: no query ran"
        assert all(o.get("stream_results") and 0 < o.get("yield_per", 0) <= BATCH for o in options), (
            f"{exporter.entity} does not stream its rows in batches of at most {BATCH}: {options}"
        )


READ_ALL = {
    p: "all"
    for p in (
        "customers:read",
        "leads:read",
        "opportunities:read",
        "activities:read",
        "contracts:read",
        "payments:read",
    )
}


async def assert_service_exporters_stream(migrations: Any, exporters: list[Exporter], database_url: str) -> None:
    """A service's every exporter streams (assert_exporters_stream), on its freshly migrated
    database, read by an auditor who sees everything."""
    await asyncio.to_thread(upgrade, migrations, database_url)
    engine = create_engine(database_url)
    reader = create_reader(database_url, engine)
    try:
        assert exporters
        await assert_exporters_stream(exporters, reader, principal("auditor", "/c/", permissions=READ_ALL))
    finally:
        await engine.dispose()
        if reader is not engine:
            await reader.dispose()
