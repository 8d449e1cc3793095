"""The statements a call sends to its database, counted at the driver, for the tests that pin how
many queries a hot path runs (identity's login and GetMe, customers' reads and writes).

Counted past SQLAlchemy, because the hot reads run on the driver connection
(`salesgrid_common.driver_rows`): on SQLite every statement sent to the loop's cursor
(`sqlite_loop.LoopCursor`); on PostgreSQL SQLAlchemy's cursor of the given engines, plus asyncpg's
own `fetch` (driver reads) and COPY (`salesgrid_common.copy_rows`, counted as the INSERT it
replaces). Each statement is "VERB table"; transaction control and statements without a table are
left out."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Iterable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_common.sqlite_loop import LoopCursor

T = TypeVar("T")
_TABLE = {
    "SELECT": r"\bFROM\s+(\w+)",
    "DELETE": r"\bFROM\s+(\w+)",
    "INSERT": r"\bINTO\s+(\w+)",
    "UPDATE": r"^\s*UPDATE\s+(\w+)",
}


async def statements_sent(
    engines: Iterable[AsyncEngine], call: Callable[[], Awaitable[T]], *, ignored: Collection[str] = ()
) -> tuple[T, list[str]]:
    """The call's result and the statements sent while it ran, sorted, but for those on the
    `ignored` tables (a running service's own background work: its outbox relay)."""
    engines = list({id(engine): engine for engine in engines}.values())
    seen: list[str] = []

    def record(sql: str) -> None:
        verb = sql.split(None, 1)[0].upper() if sql.strip() else ""
        table = re.search(_TABLE.get(verb, r"$^"), sql, re.S | re.I)
        if table and table[1] not in ignored:
            seen.append(f"{verb} {table[1]}")

    if all(engine.dialect.name == "sqlite" for engine in engines):  # every statement, by whoever
        execute, executemany = LoopCursor.execute, LoopCursor.executemany

        def executing(self: LoopCursor, sql: str, parameters: Any = ()) -> LoopCursor:
            record(sql)
            return execute(self, sql, parameters)

        def executing_many(self: LoopCursor, sql: str, seq_of_parameters: Any) -> LoopCursor:
            record(sql)
            return executemany(self, sql, seq_of_parameters)

        LoopCursor.execute, LoopCursor.executemany = executing, executing_many  # type: ignore[method-assign]
        try:
            return await call(), sorted(seen)
        finally:
            LoopCursor.execute, LoopCursor.executemany = execute, executemany  # type: ignore[method-assign]

    import asyncpg  # PostgreSQL only

    copy, fetch = asyncpg.Connection.copy_records_to_table, asyncpg.Connection.fetch

    async def copying(self: asyncpg.Connection, table_name: str, **kwargs: Any) -> str:
        if table_name not in ignored:
            seen.append(f"INSERT {table_name}")
        return await copy(self, table_name, **kwargs)  # type: ignore[no-any-return]

    async def fetching(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        record(query)
        return await fetch(self, query, *args, **kwargs)

    def cursor_execute(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        record(sql)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", cursor_execute)
    asyncpg.Connection.copy_records_to_table = copying  # type: ignore[method-assign]
    asyncpg.Connection.fetch = fetching  # type: ignore[method-assign]
    try:
        return await call(), sorted(seen)
    finally:
        asyncpg.Connection.copy_records_to_table = copy  # type: ignore[method-assign]
        asyncpg.Connection.fetch = fetch  # type: ignore[method-assign]
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", cursor_execute)
