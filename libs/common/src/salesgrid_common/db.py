"""SQLAlchemy 2 async engines and sessions; the URL picks the engine (sqlite+aiosqlite for
the embedded platform and tests, postgresql+asyncpg in the cluster). SQLite URLs are served by
`salesgrid_common.sqlite_loop`, which runs SQLite on the event loop instead of aiosqlite's
thread (one hand-off per statement was most of a request's cost)."""

from __future__ import annotations

import weakref
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import lru_cache

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, String, Table, TypeDecorator, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.processors import str_to_datetime
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Mapper
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from salesgrid_common.held_reads import held_reads, hold_reads
from salesgrid_common.json_values import json_loads
from salesgrid_common.sqlite_checkpoints import AUTOMATIC_PAGES

SessionFactory = async_sessionmaker[AsyncSession]
Reads = AsyncSession | AsyncConnection  # what a store's Core-only reads execute on (see reading)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def dialect_name(on: AsyncSession | AsyncConnection | Connection) -> str:
    """The name of the database `on` runs on ("sqlite" or "postgresql"), which the stores pick a
    statement or a strategy by: an AsyncSession (bound to an engine, or to the connection of a
    keyed call it joined), an AsyncConnection (`reading`'s) or a sync Connection (`run_sync`'s).

    Read off plain attributes (a session's sync bind, a connection's sync engine): the dialect
    `session.get_bind()` and `connection.dialect` find, at about a quarter and a half of their
    cost, which projections and event claims pay per event, and identity's standing per login,
    token refresh and GetMe."""
    if isinstance(on, AsyncSession):
        bind = on.sync_session.bind
        return (bind if bind is not None else on.sync_session.get_bind()).dialect.name
    if isinstance(on, AsyncConnection):
        return on.sync_engine.dialect.name
    return on.dialect.name


def on_sqlite(on: AsyncSession | AsyncConnection | Connection) -> bool:
    """Whether `on` runs on SQLite (see dialect_name; `is_sqlite` answers it for a URL)."""
    return dialect_name(on) == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, readonly: bool = False) -> AsyncEngine:
    """An async engine for `url`. On SQLite, writers take the lock at BEGIN (BEGIN IMMEDIATE)
    so concurrent writers queue for the lock (asynchronously, see sqlite_loop) instead of failing
    mid-transaction; a `readonly` engine begins deferred transactions, which in WAL mode never
    wait for writers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        from salesgrid_common import sqlite_loop  # noqa: F401 - registers the sqlite+sgloop dialect

        engine = create_async_engine(parsed.set(drivername="sqlite+sgloop"), pool_size=5, max_overflow=20)
        event.listen(engine.sync_engine, "connect", _sqlite_reader_pragmas if readonly else _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_deferred if readonly else _sqlite_begin_immediate)
        if readonly:
            _sqlite_readers.add(engine.sync_engine)
        return engine
    if backend == "postgresql":
        # JSON values through orjson (as json.loads reads them: json_values), not json.loads.
        # Last in, first out: a checkout takes the connection returned last, so a few busy
        # connections (and their server processes) stay warm instead of the work rotating through
        # the whole pool (measured: POST /v1/follow-ups at c=16, 248 -> 294 req/s, four pairs).
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_use_lifo=True, json_deserializer=json_loads
        )
        event.listen(engine.sync_engine.pool, "checkout", _refuse_closed_asyncpg)
        hold_reads(engine, pool_size // 2)  # reads keep a few connections between reads (held_reads)
        return engine
    raise ValueError(f"unsupported database URL scheme {backend!r}: use sqlite+aiosqlite or postgresql+asyncpg")


_sqlite_readers: "weakref.WeakSet[Engine]" = weakref.WeakSet()  # deferred BEGIN: see sqlite_sessions


def _refuse_closed_asyncpg(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed (a restart, a failover, an idle
    timeout: asyncpg sees the socket end and marks itself closed) is not handed out: the pool
    replaces it (DisconnectionError makes it retry the checkout with a new connection).

    This replaces SQLAlchemy's `pool_pre_ping`, which on asyncpg costs three round trips per
    checkout (BEGIN, a ping, ROLLBACK), on every request: measured as most of what PostgreSQL
    added to a read. What the local check cannot see (a connection cut without the server closing
    it) fails its first statement as a disconnect, after which SQLAlchemy invalidates the pool's
    older connections; the call answers UNAVAILABLE and a retry gets a fresh connection
    (tests/services/test_postgres_restart.py)."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the PostgreSQL server closed this pooled connection")


def create_reader(url: str, writer: AsyncEngine) -> AsyncEngine:
    """The engine for read-only work: its own on SQLite (see create_engine), the writer's pool
    on PostgreSQL (MVCC readers never block there)."""
    return create_engine(url, readonly=True) if is_sqlite(url) else writer


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy issue BEGIN itself (see the begin listeners).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # busy_timeout stays 0: sqlite_loop waits for the write lock asynchronously, never in SQLite.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints run in a worker thread (sqlite_checkpoints); a commit on the loop checkpoints
    # only if those fall far behind.
    cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOMATIC_PAGES}")
    cursor.close()


def _sqlite_reader_pragmas(dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")  # a write through the reader is a bug: fail loudly
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    # Take the write lock at BEGIN: a deferred transaction that later upgrades to a writer can
    # fail with SQLITE_BUSY without waiting, which busy_timeout cannot fix. Sent straight to the
    # driver (sqlite_loop takes the write lock and retries "busy" there): SQLAlchemy's statement
    # path around it cost a fifth of a one-statement write.
    conn.connection.dbapi_connection.cursor().execute("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn) -> None:  # type: ignore[no-untyped-def]
    # Straight to the driver: a deferred BEGIN in WAL mode takes no lock and never waits, and
    # SQLAlchemy's statement path around it cost a fifth of a one-statement read.
    conn.connection.dbapi_connection.cursor().execute("BEGIN")


def session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions on `engine`; inside a call made with an idempotency key they join that call's
    transaction (salesgrid_common.idempotency)."""
    from salesgrid_common.idempotency.sessions import CallSessions  # and its Session listeners, where sessions are made

    if engine.sync_engine in _sqlite_readers:
        from salesgrid_common.sqlite_sessions import LoopReadSession

        return CallSessions(engine, expire_on_commit=False, class_=LoopReadSession)
    if engine.sync_engine.dialect.driver == "sgloop":
        from salesgrid_common.sqlite_sessions import LoopWriteSession

        return CallSessions(engine, expire_on_commit=False, class_=LoopWriteSession)
    return CallSessions(engine, expire_on_commit=False)


def reading(sessions: SessionFactory) -> AbstractAsyncContextManager[Reads]:
    """What a read-only use case whose statements are all SQLAlchemy Core (rows, no ORM entities,
    no unit of work) runs on most cheaply: `async with reading(sessions) as reads`. On PostgreSQL
    a connection of the sessions' engine (the Session around a one-statement read cost about a
    sixth of it; a read has no keyed call's transaction to join, see idempotency.sessions); on
    SQLite's reader a connection that runs on the loop without the greenlet bridge
    (sqlite_sessions.LoopReads).

    On PostgreSQL the connection runs in autocommit: each statement is its own snapshot, as it is
    inside a READ COMMITTED transaction (the services' isolation), so a read is not one BEGIN and
    one ROLLBACK round trip longer than its statements. A write through it would commit at once:
    `reading` is for reads only. It is one of the few the engine keeps between reads
    (salesgrid_common.held_reads: a checkout from the pool cost several times a read's statement),
    or, when all of those are busy or the engine keeps none, a checkout as before."""
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.sync_engine in _sqlite_readers:
        from salesgrid_common.sqlite_sessions import LoopReads

        return LoopReads(engine)
    held = held_reads(engine)
    return held.lease() if held is not None else _autocommit_reads(engine)


@asynccontextmanager
async def _autocommit_reads(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        # The driver adapter's own autocommit flag: a local setting (no round trip), set back before
        # the connection returns to the pool. SQLAlchemy's `isolation_level="AUTOCOMMIT"` execution
        # option does the same with its isolation bookkeeping at checkout and checkin, which cost
        # more than a driver read's statement (measured: +35 µs a read).
        assert connection.sync_connection is not None
        driver = connection.sync_connection.connection.dbapi_connection
        driver.autocommit = True  # type: ignore[union-attr]
        try:
            yield connection
        finally:
            driver.autocommit = False  # type: ignore[union-attr]


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


_fromisoformat = datetime.fromisoformat


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware, on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Salesgrid stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect, coltype):  # type: ignore[no-untyped-def]
        """process_result_value fused with the implementation's own processor: one call per value
        instead of three, which a page of rows with four timestamps each feels. SQLite's naive UTC
        text is parsed as UTC at once (datetime.replace(tzinfo=...) costs four times the parse).
        The values are process_result_value's."""
        parse = self.impl_instance.result_processor(dialect, coltype)

        def aware(value: datetime | None) -> datetime | None:
            if value is None:
                return None
            tz = value.tzinfo
            return value if tz is UTC else value.replace(tzinfo=UTC) if tz is None else value.astimezone(UTC)

        if parse is None:
            return aware
        if parse is str_to_datetime:  # SQLite's text (datetime.fromisoformat's)

            def utc_text(value: str | None) -> datetime | None:
                if value is None:
                    return None
                try:
                    return _fromisoformat(value + "+00:00")
                except ValueError:  # text with an offset of its own
                    return aware(parse(value))

            return utc_text
        return lambda value: aware(parse(value))


class DecimalText(TypeDecorator[Decimal]):
    """An exact Decimal kept as its canonical text: SQLite has no exact numeric type, and money
    must never pass through a float."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:  # type: ignore[no-untyped-def]
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:  # type: ignore[no-untyped-def]
        return None if value is None else Decimal(value)


def conflict_insert(dialect: str) -> Any:
    """The dialect's INSERT that takes ON CONFLICT clauses (SQLite's or PostgreSQL's), for the
    dialect's name (`dialect_name(session)`, an engine URL's backend name)."""
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


async def upsert(session: AsyncSession, table: Table, values: dict[str, Any], key: Sequence[str]) -> None:
    """Insert `values`, or update the row with the same `key` columns to them: one statement on
    SQLite and PostgreSQL (projections kept from events use it instead of the ORM's merge, which
    reads the row first and flushes it through the unit of work). The statement is built once per
    shape and the values bound at execution: SQLAlchemy caches its compiled form by a key it would
    otherwise compute from the values on every call (most of a projection's time)."""
    statement = _upsert_statement(dialect_name(session), table, tuple(values), tuple(key))
    await session.execute(statement, values)


async def upsert_many(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> None:
    """`upsert` of many rows of one shape in one execution (no two with the same key: PostgreSQL
    refuses to update one row twice in a statement); nothing for none."""
    if rows:
        statement = _upsert_statement(dialect_name(session), table, tuple(rows[0]), tuple(key))
        await session.execute(statement, list(rows))


@lru_cache(maxsize=256)  # one per (dialect, table, columns, key): a handful per service
def _upsert_statement(dialect: str, table: Table, columns: tuple[str, ...], key: tuple[str, ...]) -> Any:
    statement = conflict_insert(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={name: statement.excluded[name] for name in columns if name not in key}
    )


def loaded_values(row: Any) -> Mapping[str, Any]:
    """A loaded ORM row's column values by attribute name, read from its instance state: the ORM's
    per-attribute descriptors cost more than the rest of mapping a row to a domain object, which
    a page of rows feels. A row with an attribute not loaded (expired, deferred) is read through
    the descriptors, which load it."""
    values: dict[str, Any] = row.__dict__
    names = _column_names(row.__mapper__)
    if names <= values.keys():
        return values
    return {name: getattr(row, name) for name in names}


@lru_cache(maxsize=None)
def _column_names(mapper: Mapper[Any]) -> frozenset[str]:
    return frozenset(mapper.column_attrs.keys())
