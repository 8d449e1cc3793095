"""An export never holds its rows (issue 17), on SQLite and PostgreSQL: the query streams from a
server-side cursor in batches of at most 1,000, rows are written as they are loaded (never more
than one batch ahead of the file), and file chunks are stored before the last row is read.
`bench/exports.py` measures the same at 1,000,000 rows (peak RSS against a baseline)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert

from salesgrid_common.db import create_engine, create_reader, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.exports import files
from salesgrid_common.exports.jobs import ExportJobs
from salesgrid_dev.migrated import migrate
from salesgrid_customers import models
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.exports import EXPORTERS
from salesgrid_dev.testing import principal

N = 4000
BATCH = 1000
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


async def test_an_export_streams_its_rows_in_bounded_batches(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    reader = create_reader(database_url, engine)
    rows = [
        {
            "id": f"c-{i:06d}",
            "legal_name": f"Streaming Co {i}",
            "normalised_name": f"streaming co {i}",
            "tier": "normal",
            "tags": ["t"],
            "owner_id": "rep-a",
            "org_path": "/c/t/",
            "active": True,
            "version": 1,
            "created_by": "rep-a",
            "created_at": NOW,
            "updated_at": NOW,
        }
        for i in range(N)
    ]
    async with session_factory(engine)() as session, session.begin():
        await session.execute(insert(models.Customer), rows)

    loaded = written = 0
    lag: list[int] = []  # rows loaded but not yet in the file, at each row written
    at_first_chunk: list[int] = []
    selects: list[dict[str, Any]] = []

    def on_load(_target: Any, _context: Any) -> None:
        nonlocal loaded
        loaded += 1

    def on_execute(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM customers" in statement:
            selects.append(dict(context.execution_options))

    real_writer = files.writer_for

    def watched_writer(file_format: str, header: Any) -> Any:
        inner = real_writer(file_format, header)

        class Watched:
            def add(self, row: Any) -> Any:
                nonlocal written
                written += 1
                lag.append(loaded - written)
                for chunk in inner.add(row):
                    at_first_chunk.append(loaded)
                    yield chunk

            def finish(self) -> Any:
                return inner.finish()

        return Watched()

    monkeypatch.setattr(files, "CHUNK_BYTES", 32 << 10)
    monkeypatch.setattr(files, "writer_for", watched_writer)
    event.listen(models.Customer, "load", on_load)
    for each in {engine, reader}:
        event.listen(each.sync_engine, "before_cursor_execute", on_execute)
    try:
        jobs = ExportJobs(
            "customers", session_factory(engine), session_factory(reader), Outbox("customers"), lambda: NOW, EXPORTERS
        )
        manager = principal("mgr", "/c/", permissions={"customers:read": "all", "customers:export": "all"})
        job = await jobs.create(manager, "customers", "csv", {})
        assert await jobs.run_next() == job.id
        done = await jobs.get(manager, job.id)
    finally:
        event.remove(models.Customer, "load", on_load)
        for each in {engine, reader}:
            event.remove(each.sync_engine, "before_cursor_execute", on_execute)
        await engine.dispose()
        if reader is not engine:
            await reader.dispose()

    assert done.status == "ready" and done.rows_written == N and done.chunks > 3
    assert loaded == written == N
    # The query streams (server-side cursor) in batches of at most BATCH rows...
    assert selects and all(
        options.get("stream_results") and 0 < options.get("yield_per", 0) <= BATCH for options in selects
    ), selects
    # ...and no more than one batch is ever loaded ahead of the file.
    assert max(lag) < BATCH < N
    # The file's chunks are stored as rows arrive, not once all are read.
    assert at_first_chunk and at_first_chunk[0] < N // 2
