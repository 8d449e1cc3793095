"""SQLite driven from the event loop itself, without a worker thread.

aiosqlite runs every cursor operation in its own thread and wakes the loop for each result:
a request's five or six tiny statements cost a dozen thread hand-offs (futex, GIL and loop
wake-ups), measured as most of a service's CPU time per request. SQLite answers those statements
in microseconds, so this dialect runs them directly on the loop and keeps the one thing that
really waits asynchronous: the write lock.

- Writers of one database file in one process queue on an `asyncio.Lock` taken at
  `BEGIN IMMEDIATE` and released at commit, rollback or close, so a waiting writer never
  blocks the loop.
- Another process holding the lock (a migration, a backup, a CLI command) answers SQLITE_BUSY at
  once (`busy_timeout=0`); the statement is retried after an asynchronous back-off until
  `BUSY_TIMEOUT` has passed, then fails with SQLite's own "database is locked".
- Readers use deferred transactions in WAL mode, which never wait for writers.

It is selected by `salesgrid_common.db.create_engine` for every `sqlite+aiosqlite` URL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from typing import Any, cast

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.util.concurrency import await_, in_greenlet

BUSY_TIMEOUT = 30.0  # seconds a statement waits for another writer before "database is locked"
_FIRST_BACKOFF = 0.001
_MAX_BACKOFF = 0.05

# One write lock per database file and event loop (tests run several loops in one process).
_write_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]]" = (
    weakref.WeakKeyDictionary()
)


def _write_lock(path: str) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    locks = _write_locks.setdefault(loop, {})
    lock = locks.get(path)
    if lock is None:
        lock = locks[path] = asyncio.Lock()
    return lock


async def _acquire(lock: asyncio.Lock, timeout: float) -> None:
    async with asyncio.timeout(timeout):  # not wait_for, which can lose a cancellation on 3.11
        await lock.acquire()


class WouldWait(Exception):
    """Raised instead of waiting when a statement runs outside SQLAlchemy's greenlet bridge (a
    `sqlite_sessions` session calling the ORM directly): nothing has run, so the caller sends
    the statement again through the bridge, which can wait."""


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error)
    return "database is locked" in text or "database is busy" in text


async def _no_wait() -> None:
    """Awaited once per statement: SQLAlchemy's AsyncConnection checks that a driver call went
    through the event loop's greenlet bridge (two greenlet switches, no loop iteration)."""


def _starts_write(sql: str) -> bool:
    return sql.lstrip()[:15].upper() == "BEGIN IMMEDIATE"


def _acquired_at_once(lock: asyncio.Lock) -> bool:
    """`lock` taken without waiting, as `await lock.acquire()` takes a free lock nobody queues
    for (its first step completes); False, and nothing changed, where that would have waited."""
    if lock.locked():
        return False
    step = lock.acquire()
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()  # it queued behind a waiter: withdraw
    return False


class LoopCursor(sqlite3.Cursor):
    connection: "LoopConnection"

    def execute(self, sql: str, parameters: Any = ()) -> "LoopCursor":
        begins_write = _starts_write(sql)
        if begins_write:
            self.connection._take_write_lock()
        run = super().execute
        if in_greenlet():  # else a direct call (sqlite_sessions), which SQLAlchemy does not check
            await_(_no_wait())
        try:
            return cast(LoopCursor, self.connection._retrying(lambda: run(sql, parameters)))
        except WouldWait:
            if begins_write:  # another process holds SQLite's lock: give ours back, then wait in the bridge
                self.connection._release_write_lock()
            raise

    def executemany(self, sql: str, seq_of_parameters: Any) -> "LoopCursor":
        rows = list(seq_of_parameters)  # a retry must see the same rows again
        run = super().executemany
        if in_greenlet():
            await_(_no_wait())
        return cast(LoopCursor, self.connection._retrying(lambda: run(sql, rows)))

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's async results call this to release a driver cursor early; rows here are
        read synchronously on demand, so there is nothing to release."""


class LoopConnection(sqlite3.Connection):
    """A sqlite3 connection whose lock waits yield to the event loop."""

    def __init__(self, database: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self.path = str(database)
        self._held: asyncio.Lock | None = None

    def cursor(self, factory: Any = LoopCursor) -> LoopCursor:  # type: ignore[override]
        return cast(LoopCursor, super().cursor(factory))

    def _retrying(self, operation: Any) -> Any:
        deadline = 0.0
        delay = _FIRST_BACKOFF
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                now = time.monotonic()
                deadline = deadline or now + BUSY_TIMEOUT
                if now >= deadline:
                    raise
                if not in_greenlet():
                    raise WouldWait from error
                await_(asyncio.sleep(delay))
                delay = min(delay * 2, _MAX_BACKOFF)

    def _take_write_lock(self) -> None:
        if self._held is not None:
            return
        lock = _write_lock(self.path)
        if not in_greenlet():
            # A direct call (sqlite_sessions) takes the lock only if it is free now, no one queued.
            if not _acquired_at_once(lock):
                raise WouldWait("the write lock is taken: wait for it inside the greenlet bridge")
            self._held = lock
            return
        try:
            await_(_acquire(lock, BUSY_TIMEOUT))
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._held = lock

    def _release_write_lock(self) -> None:
        held, self._held = self._held, None
        if held is not None and held.locked():
            held.release()

    def commit(self) -> None:
        try:
            self._retrying(super().commit)
        finally:
            if not self.in_transaction:
                self._release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_write_lock()


class _LoopDBAPI:
    """sqlite3 as a DBAPI module, whose connections are `LoopConnection`s that never wait."""

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> LoopConnection:
        kwargs.update(factory=LoopConnection, timeout=0, check_same_thread=False)
        return sqlite3.connect(*args, **kwargs)  # type: ignore[no-any-return]


class SQLiteDialect_loop(SQLiteDialect_pysqlite):
    driver = "sgloop"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> Any:
        return _LoopDBAPI()

    @classmethod
    def get_pool_class(cls, url: Any) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection


dialect = SQLiteDialect_loop
registry.register("sqlite.sgloop", __name__, "SQLiteDialect_loop")
