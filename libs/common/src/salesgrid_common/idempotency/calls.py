"""Keyed unary and upload calls run once (see the package's text): `IdempotentCalls`, which the
server interceptor hands such a call to, and the gRPC metadata it is recognised and replayed by."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from salesgrid_common.auth.principal import Principal
from salesgrid_common.db import conflict_insert
from salesgrid_common.errors import DomainError, FailedPrecondition
from salesgrid_common.idempotency.keys import TTL, idempotency_keys, key_id, valid_key
from salesgrid_common.idempotency.sessions import CallScope, current_call, database_of

METADATA_KEY = "idempotency-key"
METADATA_FINGERPRINT = "idempotency-request"
METADATA_REPLAYED = "idempotent-replayed"  # trailing metadata of an answer replayed from its key


class KeyReused(FailedPrecondition):
    reason = "IDEMPOTENCY_KEY_REUSED"


class StoredRefusal(Exception):
    """The replay of a refusal that was committed with its key: the interceptor aborts with it."""

    def __init__(self, status: bytes) -> None:
        super().__init__("replayed refusal")
        self.status = status


class IdempotentCalls:
    """Runs keyed unary calls once (see the package's text). `on_commit` callbacks run after each
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
        self._database = database_of(engine)
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
            scope = CallScope(self._database, connection, asyncio.current_task())
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
        scope = CallScope(self._database, None, asyncio.current_task())

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
        scope: CallScope,
        row_id: str,
        method: str,
        fingerprint: str,
        serialize: Callable[[Any], bytes],
        call: Callable[[], Awaitable[Any]],
    ) -> Any:
        token = current_call.set(scope)
        try:
            response = await call()
        except DomainError as error:
            current_call.reset(token)
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
            current_call.reset(token)
            if scope.connection is not None:
                await asyncio.shield(scope.connection.rollback())  # nothing of the call survives
            raise
        current_call.reset(token)
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
