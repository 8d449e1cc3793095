"""db.dialect_name / on_sqlite: the database a session or connection runs on, for each kind of
thing the stores hold (a service session, one joined to a keyed call's connection, `reading`'s
connections, a sync connection inside run_sync, a session without a bind of its own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from salesgrid_common.db import (
    create_engine,
    create_reader,
    dialect_name,
    is_sqlite,
    on_sqlite,
    reading,
    session_factory,
)


async def test_every_kind_of_session_and_connection_names_its_database(database_url: str) -> None:
    expected = "sqlite" if is_sqlite(database_url) else "postgresql"
    writer = create_engine(database_url)
    reader = create_reader(database_url, writer)
    seen: dict[str, tuple[str, bool]] = {}

    def note(kind: str, on: Any) -> None:
        seen[kind] = (dialect_name(on), on_sqlite(on))

    try:
        async with session_factory(writer)() as session:
            note("session", session)
        async with session_factory(reader)() as session:
            note("reader session", session)
        async with writer.connect() as connection:
            note("connection", connection)
            async with AsyncSession(bind=connection) as joined:  # a keyed call's session
                note("session on a connection", joined)

            def in_sync(sync: Connection) -> None:
                note("sync connection", sync)

            await connection.run_sync(in_sync)
        async with reading(session_factory(writer)) as reads:
            note("writer's reads", reads)
        async with reading(session_factory(reader)) as reads:  # SQLite: the loop's own connection
            note("reader's reads", reads)
            await reads.execute(text("SELECT 1"))

        class Routed(Session):
            """No bind of its own: get_bind picks the engine (a routing session)."""

            def get_bind(self, *args: Any, **kwargs: Any) -> Any:
                return writer.sync_engine

        async with AsyncSession(sync_session_class=Routed) as routed:
            note("session without a bind", routed)
    finally:
        await writer.dispose()
        if reader is not writer:
            await reader.dispose()

    assert seen == {
        kind: (expected, expected == "sqlite")
        for kind in (
            "session",
            "reader session",
            "connection",
            "session on a connection",
            "sync connection",
            "writer's reads",
            "reader's reads",
            "session without a bind",
        )
    }
