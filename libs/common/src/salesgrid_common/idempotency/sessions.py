"""The sessions a service makes (`salesgrid_common.db.session_factory`) join the transaction of
the keyed call running in their task on the same database, as savepoints; and a call that writes
in them is marked as having written (its key is then kept with its answer)."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

_SCOPE_INFO = "salesgrid_idempotency_scope"


@dataclass
class CallScope:
    """The transaction of one keyed call, and whether the call wrote in it."""

    url: str
    connection: AsyncConnection | None  # None until an upload's stream has been read
    task: asyncio.Task[Any] | None
    wrote: bool = False


current_call: ContextVar[CallScope | None] = ContextVar("salesgrid_idempotent_call", default=None)


def database_of(engine: AsyncEngine) -> str:
    return engine.url.render_as_string()  # the writer and the reader engine of a database alike


class CallSessions(async_sessionmaker[AsyncSession]):
    """`async_sessionmaker` whose sessions join the transaction of the keyed call running in
    the current task on the same database (as savepoints), and work as usual otherwise."""

    def __init__(self, engine: AsyncEngine, **kw: Any) -> None:
        super().__init__(engine, **kw)
        self._database = database_of(engine)

    def __call__(self, **local_kw: Any) -> AsyncSession:
        scope = current_call.get()
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
