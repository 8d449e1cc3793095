"""Sessions on SQLite that run the ORM's work straight on the event loop when it cannot wait.

SQLAlchemy's AsyncSession hands every call (each statement, the close) to a new greenlet so a
driver can wait in the middle of it; that bridge, and the task AsyncSession makes to close itself,
cost more than SQLite spends answering a request's statements. On the embedded platform's reader
engine nothing ever waits: `sqlite_loop` runs SQLite on the loop, deferred WAL transactions do not
wait for writers, and a pool with a free connection hands one over at once. On the writer engine
only BEGIN IMMEDIATE can wait (for the write lock, when another transaction holds it); once a
transaction holds it, nothing does. `LoopReadSession` and `LoopWriteSession` therefore call the
synchronous Session directly whenever that holds, and take AsyncSession's own path otherwise:

- the session is joined to a keyed call's connection (idempotency), not bound to the engine;
- the session holds no connection yet and the pool has no idle one (making or awaiting one can
  wait);
- a writer's BEGIN IMMEDIATE finds the write lock taken (the driver raises `WouldWait`, the
  connection goes back to the pool, and the statement goes through the bridge, which waits);
- the call commits (a commit can be retried on "busy"), or flushes explicitly;
- the statement streams (`stream_results`), which needs the async cursor path;
- SQLite answers "busy" after all (another process recovering the WAL): the driver raises
  `sqlite_loop.WouldWait` before running anything, and the statement is sent again through
  the greenlet bridge, which waits asynchronously as for any other session.

`salesgrid_common.db.session_factory` makes every SQLite session this way; the reader's connections
are `query_only`, so a write through one still fails loudly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import util
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, AsyncSessionTransaction
from sqlalchemy.pool import QueuePool

from salesgrid_common.sqlite_loop import WouldWait

_EXECUTE_OPTIONS = util.immutabledict({"prebuffer_rows": True})  # as AsyncSession buffers its results


def _has_idle_connection(engine: AsyncEngine) -> bool:
    """Whether the pool hands a connection over without waiting: an idle one is; making a new one
    can wait (SQLAlchemy runs a new engine's first connect under an asyncio lock)."""
    pool = engine.sync_engine.pool
    return isinstance(pool, QueuePool) and pool.checkedin() > 0


class LoopWriteSession(AsyncSession):
    """An AsyncSession on SQLite's writer engine. Its first statement runs directly when the pool
    has an idle connection and the process's write lock is free: BEGIN IMMEDIATE then takes the
    lock at once (sqlite_loop); were the lock taken, or SQLite busy, the driver raises WouldWait,
    the connection goes back to the pool and the statement is sent again through the bridge, which
    waits. Once its transaction holds its connection (and the lock), nothing can wait any more."""

    def _direct(self) -> bool:
        if not isinstance(self.bind, AsyncEngine):  # joined to a keyed call's connection
            return False
        transaction = self.sync_session.get_transaction()
        if transaction is not None and transaction._connections:
            return True
        return _has_idle_connection(self.bind)

    def begin(self) -> AsyncSessionTransaction:
        return _LoopSessionTransaction(self)

    async def execute(
        self,
        statement: Any,
        params: Any = None,
        *,
        execution_options: Any = util.EMPTY_DICT,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Any:
        if self._direct() and not (execution_options and execution_options.get("stream_results")):
            options = (
                util.immutabledict(execution_options).union(_EXECUTE_OPTIONS) if execution_options else _EXECUTE_OPTIONS
            )
            try:
                return self.sync_session.execute(
                    statement, params=params, execution_options=options, bind_arguments=bind_arguments, **kw
                )
            except WouldWait:
                pass
        return await super().execute(
            statement, params, execution_options=execution_options, bind_arguments=bind_arguments, **kw
        )

    async def scalar(
        self,
        statement: Any,
        params: Any = None,
        *,
        execution_options: Any = util.EMPTY_DICT,
        bind_arguments: Any = None,
        **kw: Any,
    ) -> Any:
        result = await self.execute(
            statement, params, execution_options=execution_options, bind_arguments=bind_arguments, **kw
        )
        return result.scalar()

    async def get(self, entity: Any, ident: Any, **kw: Any) -> Any:
        if self._direct():
            try:
                return self.sync_session.get(entity, ident, **kw)
            except WouldWait:
                pass
        return await super().get(entity, ident, **kw)

    async def close(self) -> None:
        if not isinstance(self.bind, AsyncEngine):
            return await super().close()
        # Closing rolls back what is left of the transaction (releasing a writer's lock) and
        # returns the connection to the pool: neither waits (returning never blocks; a rollback is
        # never retried). Commits go through the bridge: a commit can be retried on "busy".
        self.sync_session.close()

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        if not isinstance(self.bind, AsyncEngine):
            return await super().__aexit__(type_, value, traceback)
        self.sync_session.close()  # synchronous: a cancellation cannot interrupt it halfway


class _LoopSessionTransaction(AsyncSessionTransaction):
    """`session.begin()` without the bridge: beginning a Session's transaction only makes its
    bookkeeping (the connection and BEGIN come with the first statement), which never waits."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncSessionTransaction:
        if self.nested:  # SAVEPOINT is a statement
            return await super().start(is_ctxmanager)
        self.sync_transaction = self._assign_proxied(self.session.sync_session.begin())
        if is_ctxmanager:
            self.sync_transaction.__enter__()
        return self


class LoopReadSession(LoopWriteSession):
    """An AsyncSession on SQLite's reader engine (see the module docstring): its deferred BEGIN
    never waits, so it runs directly from its first statement when the pool has an idle
    connection."""

    # _direct as the writer's (an idle connection, see _has_idle_connection); a deferred BEGIN
    # never waits.


class LoopReads(AsyncConnection):
    """A connection of SQLite's reader engine for Core-only reads (`db.reading`), run directly on
    the loop like `LoopReadSession` but without a Session around it: checking a connection out of
    the pool, the deferred BEGIN, each statement and the close are synchronous calls when the pool
    has an idle connection. A Session's transaction bookkeeping and close cost about a tenth of a
    one-statement read. Without an idle connection, or when SQLite answers "busy"
    (`sqlite_loop.WouldWait`), it takes AsyncConnection's path through the greenlet bridge."""

    __slots__ = ()

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        if self.sync_connection is None and _has_idle_connection(self.engine):
            self.sync_connection = self._assign_proxied(self.sync_engine.connect())
            return self
        return await super().start(is_ctxmanager)

    async def execute(self, statement: Any, parameters: Any = None, *, execution_options: Any = None) -> Any:
        if not (execution_options and execution_options.get("stream_results")):
            try:
                return self._proxied.execute(statement, parameters, execution_options=execution_options)
            except WouldWait:
                pass
        return await super().execute(statement, parameters, execution_options=execution_options)

    async def scalar(self, statement: Any, parameters: Any = None, *, execution_options: Any = None) -> Any:
        return (await self.execute(statement, parameters, execution_options=execution_options)).scalar()

    async def close(self) -> None:
        self._proxied.close()  # rolls the deferred transaction back and checks in: neither waits

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        self._proxied.close()  # synchronous: a cancellation cannot interrupt it halfway
