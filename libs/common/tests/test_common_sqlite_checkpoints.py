"""The services' SQLite writers leave WAL checkpoints to a worker thread (sqlite_checkpoints):
their connections raise the automatic threshold, and `keep_checkpointed` copies the log into
the database file in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from salesgrid_common.db import create_engine
from salesgrid_common.sqlite_checkpoints import AUTOMATIC_PAGES, keep_checkpointed

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("text", String))


async def test_commits_leave_the_log_to_the_background_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            assert await conn.scalar(text("PRAGMA wal_autocheckpoint")) == AUTOMATIC_PAGES
        for batch in range(30):  # ~1,200 pages of log: past SQLite's default threshold of 1,000
            async with engine.begin() as conn:
                await conn.execute(insert(rows), [{"text": "x" * 4000} for _ in range(40)])
        file_before = path.stat().st_size
        assert file_before < 1 << 20  # the rows are still in the log: no commit checkpointed
        keeper = asyncio.create_task(keep_checkpointed(str(path), interval=0.05))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if path.stat().st_size > 4 << 20:
                break
        keeper.cancel()
        assert path.stat().st_size > 4 << 20  # copied into the database file by the keeper
        async with engine.begin() as conn:  # and the service goes on writing meanwhile
            await conn.execute(insert(rows), [{"text": "y"}])
            assert await conn.scalar(text("SELECT count(*) FROM rows")) == 30 * 40 + 1
    finally:
        await engine.dispose()
