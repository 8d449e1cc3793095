"""Built-once Core statements compiled once for the database driver, so hot paths can run them on
the driver connection without SQLAlchemy's execution context, Result, Row objects and
per-value processor calls (`driver_rows` for reads here, `driver_writes` for statements inside a
write transaction).

A statement (a SELECT, or an INSERT / UPDATE / DELETE with or without RETURNING) is compiled once
per (statement, dialect, parameter keys) into its SQL text, its positional parameter names, the
values it binds itself (an OFFSET 0, the 1 of `version + 1`), the dialect's bind conversions of
its parameters (e.g. `UtcDateTime`, JSON, Enum) and, per result column, the conversion the
driver's value needs; each statement's row conversion is generated once as one comprehension.
The parameter keys matter for DML: an INSERT's SQL names the columns given, and a column with a
Python-side default that is not given would need a value computed per execution.

What it does not know exactly is left to SQLAlchemy (`compiled_for` answers None): a statement
with post-compile or expanding parameters, escaped bind names, bind values computed by a callable,
Python-side column defaults or onupdates to apply (`insert_prefetch` / `update_prefetch`), a
RETURNING SQLAlchemy added itself (implicit returning), an ORM-enabled statement, a column type
without a known conversion.

`driver_rows` runs a SELECT: on a read's connection (SQLite's cursor on the loop, asyncpg's
`fetch`), or on the connection of a `LoopWriteSession`'s write transaction; anything else
(another session, SQLite answering "busy": `sqlite_loop.WouldWait`, nothing ran) goes through
SQLAlchemy. A driver read outside a transaction is its own snapshot (one statement: as on
PostgreSQL under READ COMMITTED); inside one it reads in that transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Float
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.base import Executable

from salesgrid_common.db import Reads
from salesgrid_common.sqlite_loop import WouldWait
from salesgrid_common.sqlite_sessions import LoopWriteSession

Convert = Callable[[Any], Any]


def json_value(text: str) -> Any:
    """SQLite's stored JSON text as json.loads reads it, parsed by orjson. The JSON columns hold
    strings, booleans, lists and objects of them (custom-field values are canonical JSON with
    numbers as decimal strings; tags are strings), where the two agree; what orjson refuses (NaN,
    a lone surrogate) goes to json.loads."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _result_conversion(type_: Any, dialect: Dialect) -> Convert | None:
    """What turns the driver's value of a column of `type_` into SQLAlchemy's (None: nothing)."""
    if isinstance(type_, JSON) and dialect.name == "sqlite":
        return json_value
    if isinstance(type_, Float) and not type_.asdecimal:
        return None  # a float from both drivers (asyncpg's processor wants the column's oid to say so)
    return type_._cached_result_processor(dialect, None)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    fixed: Mapping[str, Any]  # values the statement binds itself (an OFFSET 0, a literal's)
    binds: tuple[tuple[str, Convert], ...]  # parameters whose values the dialect converts
    conversions: tuple[tuple[int, Convert], ...]  # result columns to convert, by position
    converter: Callable[[Sequence[Any]], list[Any]]  # _converter's

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.fixed, **params}
        for name, convert in self.binds:
            if name in values:
                values[name] = convert(values[name])
        return [values[name] for name in self.names]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        return self.converter(raw)


def _converter(width: int, conversions: Sequence[tuple[int, Convert]]) -> Callable[[Sequence[Any]], list[Any]]:
    """A function of the driver's rows: each a tuple of its `width` values, those at a converted
    position converted (None stays None). Generated once per statement, as one comprehension: a
    loop over the positions per row cost about a third more."""
    if not conversions:
        return list
    names = {f"convert_{position}": convert for position, convert in conversions}
    values = ", ".join(
        f"None if row[{i}] is None else convert_{i}(row[{i}])" if f"convert_{i}" in names else f"row[{i}]"
        for i in range(width)
    )
    source = f"def rows(raw):\n    return [({values},) for row in raw]\n"
    exec(compile(source, "<driver rows>", "exec"), names)  # noqa: S102 - code built from column positions
    rows: Callable[[Sequence[Any]], list[Any]] = names["rows"]
    return rows


def compiled_for(statement: Executable, dialect: Dialect) -> Compiled | None:
    """A SELECT (whose SQL does not depend on the parameter keys) compiled for the driver, or None
    when it must go through SQLAlchemy."""
    return compiled_with(statement, dialect, None)


@lru_cache(maxsize=1024)  # statements built once (the callers' own bounded caches) x dialects x key sets
def compiled_with(statement: Executable, dialect: Dialect, keys: tuple[str, ...] | None) -> Compiled | None:
    """`statement` compiled for the driver as SQLAlchemy compiles it for parameters with `keys`
    (None: a SELECT's, whatever the keys), or None when it must go through SQLAlchemy."""
    if statement._propagate_attrs.get("compile_state_plugin") == "orm":
        return None  # the ORM's own execution (entities, bulk DML): SQLAlchemy's
    element: Any = statement  # a ClauseElement: a Select, Insert, Update or Delete
    try:
        compiled: Any = element.compile(dialect=dialect, column_keys=None if keys is None else sorted(keys))
    except CompileError:  # SQLAlchemy raises it again when executing
        return None
    if (
        not compiled.positional
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or getattr(compiled, "insert_prefetch", None)
        or getattr(compiled, "update_prefetch", None)
        or getattr(compiled, "implicit_returning", None)
    ):
        return None
    conversions = []
    for position, column in enumerate(compiled._result_columns):
        try:
            convert = _result_conversion(column.type, dialect)
        except Exception:  # a type whose conversion needs the driver's description
            return None
        if convert is not None:
            conversions.append((position, convert))
    binds, fixed = [], {}
    for name in dict.fromkeys(compiled.positiontup):
        bind = compiled.binds[name]
        if not bind.required:
            if bind.callable is not None:  # a value computed at each execution
                return None
            fixed[name] = bind.effective_value
        if (convert := bind.type._cached_bind_processor(dialect)) is not None:
            binds.append((name, convert))
    width = len(compiled._result_columns)
    return Compiled(
        str(compiled),
        tuple(compiled.positiontup),
        fixed,
        tuple(binds),
        tuple(conversions),
        _converter(width, conversions),
    )


def run_in_write_transaction(
    session: LoopWriteSession, statement: Executable, params: Mapping[str, Any], keys: tuple[str, ...] | None
) -> list[Sequence[Any]] | None:
    """The converted rows of `statement` (none for DML without RETURNING) run with `params` on
    the driver connection of the session's write transaction (`LoopWriteSession.write_connection`),
    compiled for parameters with `keys` (None: a SELECT); None when it did not run there, for the
    caller to run it through SQLAlchemy. The rows are fetched in full and the cursor closed before
    returning: no statement stays active on the connection until COMMIT. A statement SQLite
    refuses raises the error SQLAlchemy's execute would (`Connection._handle_dbapi_exception`:
    e.g. sqlalchemy.exc.IntegrityError); the transaction stays as SQLAlchemy's would leave it."""
    found = session.write_connection()
    if found is None:
        return None
    connection, driver = found
    compiled = compiled_with(statement, connection.dialect, keys)
    if compiled is None:
        return None
    try:
        arguments = compiled.arguments(params)
    except Exception:  # a missing parameter, a value a bind conversion refuses: SQLAlchemy's error
        return None
    cursor = driver.cursor()
    try:
        raw = cursor.execute(compiled.sql, arguments).fetchall()
    except WouldWait:  # SQLite busy (another process): nothing ran; SQLAlchemy's bridge waits
        return None
    except sqlite3.Error as error:
        connection._handle_dbapi_exception(error, compiled.sql, arguments, cast(Any, cursor), None)
    finally:
        cursor.close()
    return compiled.rows(raw)


async def driver_rows(reads: Reads, statement: Executable, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """The rows of the SELECT `statement` (built once: compiled forms are cached by the statement)
    executed with `params`, each a sequence of the values SQLAlchemy's rows would hold, in its
    columns' order."""
    if isinstance(reads, LoopWriteSession):  # a SELECT inside a write transaction (a reader's session: None)
        rows = run_in_write_transaction(reads, statement, params, None)
        if rows is not None:
            return rows
    sync = reads.sync_connection if isinstance(reads, AsyncConnection) else None
    if sync is not None and not sync.invalidated and not sync.closed:
        compiled = compiled_for(statement, sync.dialect)
        if compiled is not None:
            driver = sync.connection.driver_connection
            if isinstance(driver, sqlite3.Connection):
                cursor = driver.cursor()
                try:
                    return compiled.rows(cursor.execute(compiled.sql, compiled.arguments(params)).fetchall())
                except WouldWait:  # SQLite busy: nothing ran; SQLAlchemy's bridge waits
                    pass
                finally:
                    cursor.close()
            elif driver is not None and sync.dialect.driver == "asyncpg":
                return compiled.rows(await driver.fetch(compiled.sql, *compiled.arguments(params)))
    return (await reads.execute(statement, params)).all()
