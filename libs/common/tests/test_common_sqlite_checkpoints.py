"""The services' SQLite writers leave WAL checkpoints to a worker thread (sqlite_checkpoints):
their connections raise the automatic threshold, and `keep_checkpointed` copies the log into
the database file in the background."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, text

from salesgrid_common.db import create_engine
from salesgrid_common.sqlite_checkpoints import AUTOMATIC_PAGES, checkpoint, keep_checkpointed

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


async def test_a_checkpoint_never_creates_a_missing_database_and_cancelling_the_keeper_is_safe(tmp_path: Path) -> None:
    """Each round opens and closes its own connection in its worker thread, so a keeper cancelled
    mid-round (a service stopping) leaves nothing shared to close under a running checkpoint."""
    missing = tmp_path / "gone" / "service.db"
    with pytest.raises(sqlite3.OperationalError):
        checkpoint(str(missing))
    assert not missing.exists()
    path = tmp_path / "service db #1.db"  # characters a file: URI must quote
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(rows), [{"text": "x" * 4000} for _ in range(200)])
        assert checkpoint(str(path))[0] == 0  # not busy: the log was copied
        for round_ in range(20):
            keeper = asyncio.create_task(keep_checkpointed(str(path), interval=0))
            await asyncio.sleep(0.001 * (round_ % 5))
            keeper.cancel()
            with pytest.raises(asyncio.CancelledError):
                await keeper
    finally:
        await engine.dispose()
