"""Idempotency keys inside the service's own transaction (issue 17): a write retried with the
same key executes once, even when the process died between its commit and its answer.

The gateway forwards a caller's `Idempotency-Key` (already scoped to the caller, one key per
method and call of the request) as the gRPC metadata `idempotency-key`. For such a unary call the
server interceptor hands the call to `IdempotentCalls.run`, which

- opens ONE transaction on the service's database for the whole call, and looks the key up in
  `idempotency_keys` (scoped again to the verified principal and the method): found, the stored
  answer is returned, marked by the trailing metadata `idempotent-replayed: true` (or its error
  status raised again) and nothing executes; found for another
  request (the gateway's fingerprint of the HTTP request, `idempotency-request`, or else the
  request message's), the call is refused (422 naming the key);
- runs the handler with every session the service makes (`salesgrid_common.db.session_factory`,
  reader and writer, in the call's own task) joined to that transaction: a use case's own
  `session.begin()` ... commit becomes a savepoint, so its writes and outbox events stay
  uncommitted until the call is done;
- if the call wrote anything, inserts the key with the serialized answer (or the error status
  of a refusal that followed a write) and commits: the write, its events and the key with its
  answer become durable together, or not at all. A crash or a cancellation (the caller gone)
  before that commit rolls everything back, so the retry executes afresh; a crash after it
  leaves the answer to replay.

Concurrent calls with one key: on SQLite the transaction takes the write lock at its start, so
the second call finds the first's key; on PostgreSQL the second call's key insert waits for the
first and, finding it committed, rolls its own work back and returns the first's answer.

Client-streaming calls (uploads, `run_upload`): the transaction begins once the client's stream
has been read to the end, so no lock is held while a client uploads; writes the handler makes
before that (none do) would not be covered. Keys are kept `TTL` (longer than the gateway's 24 h)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, delete, event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import UtcDateTime, conflict_insert
from salesgrid_common.errors import DomainError, FailedPrecondition, ValidationFailed

log = logging.getLogger(__name__)

METADATA_KEY = "idempotency-key"
METADATA_FINGERPRINT = "idempotency-request"
METADATA_REPLAYED = "idempotent-replayed"  # trailing metadata of an answer replayed from its key
TTL = timedelta(hours=48)
_SCOPE_INFO = "salesgrid_idempotency_scope"

idempotency_metadata = MetaData()
idempotency_keys = Table(
    "idempotency_keys",
    idempotency_metadata,
    Column("id", String(64), primary_key=True),  # sha256 of principal, method and key
    Column("method", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # of the request the key was used for
    Column("response", LargeBinary, nullable=True),  # the serialized answer, or
    Column("status", LargeBinary, nullable=True),  # the google.rpc.Status of a refusal after a write
    Column("created_at", UtcDateTime(), nullable=False, index=True),
)


@dataclass
class _CallScope:
    """The transaction of one keyed call, and whether the call wrote in it."""

    url: str
    connection: AsyncConnection | None  # None until an upload's stream has been read
    task: asyncio.Task[Any] | None
    wrote: bool = False


_current: ContextVar[_CallScope | None] = ContextVar("salesgrid_idempotent_call", default=None)


def _url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string()  # the writer and the reader engine of a database alike


class CallSessions(async_sessionmaker[AsyncSession]):
    """`async_sessionmaker` whose sessions join the transaction of the keyed call running in
    the current task on the same database (as savepoints), and work as usual otherwise."""

    def __init__(self, engine: AsyncEngine, **kw: Any) -> None:
        super().__init__(engine, **kw)
        self._database = _url(engine)

    def __call__(self, **local_kw: Any) -> AsyncSession:
        scope = _current.get()
        if (
            scope is not None
            and scope.connection is not None
            and scope.url == self._database
            and scope.task is asyncio.current_task()
        ):
            local_kw["bind"] = scope.connection
            local_kw["join_transaction_mode"] = "create_savepoint"
            local_kw["info"] = {**local_kw.get("info", {}), _SCOPE_INFO: scope}
        return super().__call__(**local_kw)


def _mark_written(session: Session) -> None:
    scope = session.info.get(_SCOPE_INFO)
    if scope is not None:
        scope.wrote = True


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: Any) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _mark_written(state.session)


@event.listens_for(Session, "after_flush")
def _on_flush(session: Session, _context: Any) -> None:
    _mark_written(session)


class KeyReused(FailedPrecondition):
    reason = "IDEMPOTENCY_KEY_REUSED"


class StoredRefusal(Exception):
    """The replay of a refusal that was committed with its key: the interceptor aborts with it."""

    def __init__(self, status: bytes) -> None:
        super().__init__("replayed refusal")
        self.status = status


def key_id(principal: Principal, method: str, key: str) -> str:
    return hashlib.sha256(f"{principal.kind}:{principal.subject_id}\0{method}\0{key}".encode()).hexdigest()


def valid_key(key: str) -> str:
    if not (1 <= len(key) <= 300 and key.isascii() and key.isprintable()):
        raise ValidationFailed("1-300 printable ASCII characters", "Idempotency-Key")
    return key


class IdempotentCalls:
    """Runs keyed unary calls once (see the module's text). `on_commit` callbacks run after each
    commit of a call's transaction (the outbox relay's wake-up)."""

    def __init__(
        self,
        engine: AsyncEngine,
        error_status: Callable[[DomainError], bytes],
        clock: Callable[[], datetime],
        on_commit: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.engine = engine
        self.error_status = error_status
        self.clock = clock
        self.on_commit = list(on_commit)
        self._database = _url(engine)
        self._insert = conflict_insert(engine.url.get_backend_name())

    async def run(
        self,
        key: str,
        fingerprint: str,
        principal: Principal,
        method: str,
        serialize: Callable[[Any], bytes],
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        """The call's answer, or the serialized answer (bytes) stored for its key."""
        row_id = key_id(principal, method, valid_key(key))
        fingerprint = fingerprint[:64]
        async with self.engine.connect() as connection:
            await connection.begin()
            stored = await self._stored(connection, row_id)
            if stored is not None:
                await connection.rollback()
                return self._replay(stored, fingerprint)
            scope = _CallScope(self._database, connection, asyncio.current_task())
            return await self._execute(scope, row_id, method, fingerprint, serialize, call)

    async def run_upload(
        self,
        key: str,
        fingerprint: str,
        principal: Principal,
        method: str,
        serialize: Callable[[Any], bytes],
        requests: AsyncIterator[Any],
        call: Callable[[AsyncIterator[Any]], Awaitable[Any]],
    ) -> Any:
        """A client-streaming call (an upload): its transaction begins once the client's stream
        has been read to the end, so no lock is held while the client uploads; what the handler
        writes after that commits with the key and the answer, as for a unary call."""
        row_id = key_id(principal, method, valid_key(key))
        fingerprint = fingerprint[:64]
        async with self.engine.connect() as probe:
            stored = await self._stored(probe, row_id)
        if stored is not None:
            return self._replay(stored, fingerprint)
        scope = _CallScope(self._database, None, asyncio.current_task())

        async def read_then_begin() -> AsyncIterator[Any]:
            async for item in requests:
                yield item
            connection = await self.engine.connect()
            scope.connection = connection
            await connection.begin()

        try:
            return await self._execute(scope, row_id, method, fingerprint, serialize, lambda: call(read_then_begin()))
        finally:
            if scope.connection is not None:
                await asyncio.shield(scope.connection.close())

    async def _execute(
        self,
        scope: _CallScope,
        row_id: str,
        method: str,
        fingerprint: str,
        serialize: Callable[[Any], bytes],
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        token = _current.set(scope)
        try:
            response = await call()
        except DomainError as error:
            _current.reset(token)
            connection = scope.connection
            if connection is None:
                raise
            if not scope.wrote:
                await connection.rollback()
                raise
            if not await self._keep(connection, row_id, method, fingerprint, status=self.error_status(error)):
                return self._replay(await self._stored(connection, row_id), fingerprint)
            raise
        except BaseException:
            _current.reset(token)
            if scope.connection is not None:
                await asyncio.shield(scope.connection.rollback())  # nothing of the call survives
            raise
        _current.reset(token)
        connection = scope.connection
        if connection is None:  # no transaction began (an upload whose handler stopped reading)
            return response
        if not scope.wrote:
            await connection.rollback()
            return response
        if not await self._keep(connection, row_id, method, fingerprint, response=serialize(response)):
            return self._replay(await self._stored(connection, row_id), fingerprint)
        return response

    async def _stored(self, connection: AsyncConnection, row_id: str) -> Any:
        return (
            await connection.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.response, idempotency_keys.c.status).where(
                    idempotency_keys.c.id == row_id
                )
            )
        ).one_or_none()

    @staticmethod
    def _replay(stored: Any, fingerprint: str) -> bytes:
        if stored.fingerprint != fingerprint:
            raise KeyReused(
                "this Idempotency-Key was already used for a different request; use a new key for a new request",
                "Idempotency-Key",
            )
        if stored.status is not None:
            raise StoredRefusal(stored.status)
        return bytes(stored.response)

    async def _keep(
        self,
        connection: AsyncConnection,
        row_id: str,
        method: str,
        fingerprint: str,
        *,
        response: bytes | None = None,
        status: bytes | None = None,
    ) -> bool:
        """Insert the key with the answer and commit; False (rolled back) when a concurrent call
        with the key committed first."""
        inserted = await connection.execute(
            self._insert(idempotency_keys)
            .values(
                id=row_id,
                method=method[:200],
                fingerprint=fingerprint,
                response=response,
                status=status,
                created_at=self.clock(),
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        if inserted.rowcount != 1:
            await connection.rollback()
            await connection.begin()
            return False
        await connection.commit()
        for callback in self.on_commit:
            callback()
        return True

    async def purge(self) -> int:
        """Delete keys older than TTL; returns how many."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < self.clock() - TTL)
            )
        return int(result.rowcount or 0)
