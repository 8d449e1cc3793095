"""A write transaction's hot statements on the driver connection: `await driver_execute(session,
statement, params)` (and `driver_returning` / `driver_scalar_one` for RETURNING) run a Core
statement built once inside the session's write transaction as `session.execute` would, without
SQLAlchemy's Session, execution context and Result around it. A one-row INSERT cost about 30 µs
through a synchronous Session.execute (more through the async session) against 8 µs on SQLite's
cursor; a follow-up or a customer create runs three or four of them.

Only on the embedded platform's SQLite writer (`LoopWriteSession.write_connection`), once the
transaction holds its connection and the process's write lock (BEGIN IMMEDIATE ran: no statement
can wait any more), the statement compiled for the driver once per (statement, dialect, parameter
keys) by `driver_statements.compiled_with` with the dialect's bind conversions. The statement runs
to completion and its cursor is closed before returning (RETURNING rows fetched in full): nothing
stays active on the connection until COMMIT. An error SQLite raises is raised as SQLAlchemy
raises it (an IntegrityError for a unique violation); the transaction is left as SQLAlchemy
leaves it, for the caller's `session.begin()` to roll back.

Everything else runs `session.execute` unchanged: PostgreSQL, a session that cannot begin
without waiting or is joined to a keyed call, pending ORM changes an autoflush would write first,
a statement the driver compilation does not know exactly (Python-side defaults not given,
expanding parameters, ...), an engine whose statements are being listened to (a test counting
them through SQLAlchemy's events sees every statement), SQLite answering "busy" (`WouldWait`:
nothing ran)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable

from salesgrid_common.driver_statements import run_in_write_transaction
from salesgrid_common.sqlite_sessions import LoopWriteSession


async def driver_execute(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> None:
    """`await session.execute(statement, params)` for a statement whose result nobody reads (an
    INSERT, UPDATE or DELETE built once) in the session's write transaction."""
    if (
        isinstance(session, LoopWriteSession)
        and run_in_write_transaction(session, statement, params, tuple(params)) is not None
    ):
        return
    await session.execute(statement, params)


async def driver_returning(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """`(await session.execute(statement, params)).all()` for a statement with RETURNING (or a
    SELECT) built once, in the session's write transaction: the rows' values in their columns'
    order."""
    if isinstance(session, LoopWriteSession):
        rows = run_in_write_transaction(session, statement, params, tuple(params))
        if rows is not None:
            return rows
    return (await session.execute(statement, params)).all()


async def driver_scalar_one(session: AsyncSession, statement: Executable, params: Mapping[str, Any]) -> Any:
    """`(await session.execute(statement, params)).scalar_one()` (see driver_returning)."""
    if isinstance(session, LoopWriteSession):
        rows = run_in_write_transaction(session, statement, params, tuple(params))
        if rows is not None:
            if len(rows) != 1:  # Result.scalar_one's errors
                if rows:
                    raise MultipleResultsFound("Multiple rows were found when exactly one was required")
                raise NoResultFound("No row was found when one was required")
            return rows[0][0]
    return (await session.execute(statement, params)).scalar_one()
