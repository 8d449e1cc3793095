"""driver_rows(named=True): on SQLite and PostgreSQL the driver's rows carry the values SQLAlchemy's
rows hold, by position and by name (so a store written against SQLAlchemy's rows reads them
unchanged), converted as SQLAlchemy converts them (JSON, booleans, UTC times); a statement whose
columns cannot all be attribute names is left to SQLAlchemy (its rows have the same keys,
duplicates deduplicated alike: `id`, `id_1`)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, bindparam, select

from salesgrid_common.db import UtcDateTime, create_engine, create_reader, reading, session_factory
from salesgrid_common.driver_rows import compiled_for, driver_rows

METADATA = MetaData()
THINGS = Table(
    "things",
    METADATA,
    Column("id", String, primary_key=True),
    Column("size", Integer),
    Column("flag", Boolean),
    Column("tags", JSON),
    Column("seen_at", UtcDateTime),
)
AT = datetime(2026, 12, 6, 8, 30, 1, 123456, tzinfo=UTC)


async def test_named_driver_rows_are_sqlalchemys_rows_by_position_and_name(database_url: str) -> None:
    writer = create_engine(database_url)
    reader = create_reader(database_url, writer)
    try:
        async with writer.begin() as connection:
            await connection.run_sync(METADATA.create_all)
            await connection.execute(
                THINGS.insert(),
                [
                    {"id": "a", "size": 3, "flag": True, "tags": ["x", {"y": 1}], "seen_at": AT},
                    {"id": "b", "size": None, "flag": False, "tags": None, "seen_at": None},
                ],
            )
        statement = (
            select(THINGS, (THINGS.c.size + 1).label("next_size"))
            .where(THINGS.c.id >= bindparam("key"))
            .order_by(THINGS.c.id)
        )
        clashing = select(THINGS.c.id.label("the id"))  # a key no attribute can have
        async with reading(session_factory(reader)) as reads:
            named = await driver_rows(reads, statement, {"key": "a"}, named=True)
            expected = (await reads.execute(statement, {"key": "a"})).all()
            assert compiled_for(statement, reads.sync_engine.dialect, True) is not None
            assert compiled_for(clashing, reads.sync_engine.dialect, True) is None
            assert [tuple(row) for row in await driver_rows(reads, clashing, {}, named=True)] == [
                tuple(row) for row in (await reads.execute(clashing)).all()
            ]
        assert [tuple(row) for row in named] == [tuple(row) for row in expected]
        other = THINGS.alias("other")
        twice = select(THINGS.c.id, other.c.id).where(THINGS.c.id == other.c.id, THINGS.c.id == "a")
        async with reading(session_factory(reader)) as reads:
            pairs = await driver_rows(reads, twice, {}, named=True)
            assert [row._asdict() for row in pairs] == [row._asdict() for row in (await reads.execute(twice)).all()]
        keys = [*THINGS.c.keys(), "next_size"]
        assert [{key: getattr(row, key) for key in keys} for row in named] == [row._asdict() for row in expected]
        first = named[0]
        assert (first.flag, first.tags, first.seen_at, first.next_size) == (True, ["x", {"y": 1}], AT, 4)
        assert type(first) is not tuple and type(named[1].flag) is bool
    finally:
        await writer.dispose()
        if reader is not writer:
            await reader.dispose()
