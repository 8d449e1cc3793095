"""PostgreSQL reads on connections kept between reads (what `db.reading` runs on there).

A read's own statement is cheap next to what a checkout from SQLAlchemy's pool costs around it:
the checkout and checkin through the greenlet bridge and the driver's autocommit flag set and
reset cost four to six times the statement's client CPU (bench/pg_read_checkout.py). So an engine
keeps up to `limit` connections checked out of its pool, in autocommit, and lends them to reads
one at a time; a read that finds none free takes one from the pool as before, and keeps it if
fewer than `limit` are kept. The pool stays the only source of connections, and at least half of
it is left for writers.

A kept connection goes back to the pool (and is not lent again) when

- the server closed it (a restart, a failover, an idle timeout: asyncpg marks it closed), checked
  before each loan, as the pool's checkout hook checks its own (`db._refuse_closed_asyncpg`);
- its read ended with anything but a domain error (a statement that failed, a cut connection, a
  cancellation mid-statement: whatever state it is in, the pool's checkin handles it as today);
- a transaction is open on it (a read must not leave one; autocommit should make it impossible);
- the engine is disposed (`Engine.dispose`, at a service's stop or a test's end): the free ones
  are closed at once, so the database can be dropped; one lent out then is closed at its return;
- the running event loop is not the one it was opened on (connections belong to their loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from salesgrid_common.errors import DomainError

log = logging.getLogger(__name__)


class HeldReads:
    """The connections one PostgreSQL engine keeps for reads (see the module's text)."""

    __slots__ = ("engine", "limit", "free", "kept", "generation", "loop")

    def __init__(self, engine: AsyncEngine, limit: int) -> None:
        # Weakly: this is the value of a weak mapping keyed by the engine's sync engine.
        self.engine = weakref.ref(engine)
        self.limit = limit
        self.free: list[AsyncConnection] = []
        self.kept = 0  # connections kept: free, or lent to a read
        self.generation = 0  # one more at each dispose (or change of loop): older ones are not kept
        self.loop: asyncio.AbstractEventLoop | None = None

    def lease(self) -> "Lease":
        return Lease(self)

    def release_all(self) -> None:
        """Close the free connections and keep none lent out now (sync: called by Engine.dispose,
        inside AsyncEngine.dispose's greenlet, where a graceful close can wait; outside one the
        driver's connection is terminated)."""
        free, self.free = self.free, []
        self.generation += 1
        self.kept = 0
        for connection in free:
            sync = connection.sync_connection
            if sync is None or sync.closed:
                continue
            try:
                sync.invalidate()  # closes the driver's connection, which a checkin would leave open
                sync.close()
            except Exception:  # a connection of a loop that is gone: the driver's socket is cut
                log.warning("a kept read connection could not be closed; terminating it", exc_info=True)
                with contextlib.suppress(Exception):
                    _driver(connection).driver_connection.terminate()


class Lease:
    """One read's connection: `async with held.lease() as connection`."""

    __slots__ = ("held", "connection", "generation", "counted")

    def __init__(self, held: HeldReads) -> None:
        self.held = held
        self.connection: AsyncConnection | None = None
        self.counted = False

    async def __aenter__(self) -> AsyncConnection:
        held = self.held
        loop = asyncio.get_running_loop()
        if held.loop is not loop:
            held.release_all()
            held.loop = loop
        self.generation = held.generation
        free = held.free
        while free:
            connection = free.pop()
            if _usable(connection):
                self.connection, self.counted = connection, True
                return connection
            held.kept -= 1
            await _give_back(connection, invalidate=True)
        engine = held.engine()
        assert engine is not None  # a read of an engine that is gone
        connection = await engine.connect()
        _driver(connection).autocommit = True
        self.connection = connection
        if held.kept < held.limit:
            held.kept += 1
            self.counted = True
        return connection

    async def __aexit__(self, kind: type[BaseException] | None, _error: object, _trace: object) -> None:
        connection, held = self.connection, self.held
        assert connection is not None
        self.connection = None
        current = self.generation == held.generation
        if (
            self.counted
            and current
            and (kind is None or issubclass(kind, DomainError))
            and _usable(connection)
            and not _driver(connection).driver_connection.is_in_transaction()
        ):
            held.free.append(connection)
            return
        if self.counted and current:
            held.kept -= 1
        await _give_back(connection, invalidate=not current)


def _driver(connection: AsyncConnection) -> Any:
    """The driver adapter under `connection` (its `autocommit` flag, its `driver_connection`)."""
    assert connection.sync_connection is not None
    return connection.sync_connection.connection.dbapi_connection


def _usable(connection: AsyncConnection) -> bool:
    sync = connection.sync_connection
    return (
        sync is not None
        and not sync.closed
        and not sync.invalidated
        and not _driver(connection).driver_connection.is_closed()
    )


async def _give_back(connection: AsyncConnection, *, invalidate: bool) -> None:
    """Return `connection` to its pool in the engine's own isolation (the driver's autocommit flag
    is a local setting: no round trip), or closed when `invalidate` (its pool was disposed) or when
    the server closed it."""
    sync = connection.sync_connection
    if sync is None or sync.closed:
        return
    if invalidate or sync.invalidated or _driver(connection).driver_connection.is_closed():
        if not sync.invalidated:
            await connection.invalidate()
    else:
        _driver(connection).autocommit = False
    await connection.close()


_held: "weakref.WeakKeyDictionary[Engine, HeldReads]" = weakref.WeakKeyDictionary()


def hold_reads(engine: AsyncEngine, limit: int) -> None:
    """Let `engine`'s reads (db.reading) keep up to `limit` connections between reads (none: 0)."""
    if limit <= 0:
        return
    held = _held[engine.sync_engine] = HeldReads(engine, limit)
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: held.release_all())


def held_reads(engine: AsyncEngine) -> HeldReads | None:
    """The connections `engine` keeps for reads (None: it keeps none, see hold_reads)."""
    return _held.get(engine.sync_engine)
