"""db.UtcDateTime reads every timestamp back timezone-aware in UTC, through its fused result
processor, on SQLite and PostgreSQL: values written from any zone, none, and on SQLite text
written by hand (without and with an offset of its own); naive values are refused on write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from salesgrid_common.db import UtcDateTime, create_engine

METADATA = MetaData()
STAMPS = Table("utc_stamps", METADATA, Column("id", Integer, primary_key=True), Column("at", UtcDateTime()))
WRITTEN = {
    1: datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC),
    2: datetime(2026, 3, 2, 17, 30, tzinfo=timezone(timedelta(hours=8))),  # 09:30 UTC
    3: datetime(2026, 3, 1, 20, 0, tzinfo=timezone(timedelta(hours=-5))),  # 01:00 UTC on the 2nd
    4: None,
}


async def test_timestamps_read_back_aware_in_utc(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(METADATA.create_all)
            await conn.execute(insert(STAMPS), [{"id": k, "at": v} for k, v in WRITTEN.items()])
            if engine.dialect.name == "sqlite":  # text another writer may have left
                await conn.execute(text("INSERT INTO utc_stamps VALUES (5, '2026-03-02 09:30:00')"))
                await conn.execute(text("INSERT INTO utc_stamps VALUES (6, '2026-03-02 17:30:00.5+08:00')"))
            with pytest.raises(StatementError):
                await conn.execute(insert(STAMPS), {"id": 7, "at": datetime(2026, 3, 2, 9, 30)})
        async with engine.connect() as conn:
            read = dict((await conn.execute(select(STAMPS.c.id, STAMPS.c.at).order_by(STAMPS.c.id))).all())
    finally:
        await engine.dispose()
    for key, value in WRITTEN.items():
        assert read[key] == value, key
        assert read[key] is None or read[key].tzinfo is UTC
    if 5 in read:
        assert read[5] == datetime(2026, 3, 2, 9, 30, tzinfo=UTC) and read[5].tzinfo is UTC
        assert read[6] == datetime(2026, 3, 2, 9, 30, 0, 500000, tzinfo=UTC) and read[6].tzinfo is UTC
