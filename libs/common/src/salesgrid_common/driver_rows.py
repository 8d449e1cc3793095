"""Hot reads without SQLAlchemy's execution and result machinery: a Core SELECT built once is
compiled once per dialect, executed on the driver connection under the read's connection (SQLite's
cursor on the loop, asyncpg's `fetch`), and the columns that need it are converted once per row in
plain code: the values of `(await reads.execute(statement, params)).all()`, without its execution
context, Result, Row objects and per-value processor calls (about half of a manager's page of
twenty customers in the customers process, measured: docs/performance/perf-custread.md).

What it does not know how to run goes through SQLAlchemy as before: a statement with post-compile
or expanding parameters, a column type without a known conversion, a session rather than a
connection, SQLite answering "busy" (`sqlite_loop.WouldWait`: nothing ran, and SQLAlchemy's bridge
can wait). A driver read outside a transaction is its own snapshot (one statement: as on
PostgreSQL under READ COMMITTED); inside one (a statement of SQLAlchemy's ran before on this
connection) it reads in that transaction.

Generic (any Core select of plain columns). `named=True` gives rows whose columns are also
attributes (`row.login`), as SQLAlchemy's rows have them: a store written against those reads the
driver's rows unchanged."""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Float, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from salesgrid_common.db import Reads
from salesgrid_common.json_values import json_loads
from salesgrid_common.memo import ContentMemo
from salesgrid_common.sqlite_loop import WouldWait

Convert = Callable[[Any], Any]
Converter = Callable[[Sequence[Any]], list[Any]]
# A memo of converted rows, keyed by (the statement's converter, the driver's raw row).
RowMemo = ContentMemo[tuple[Converter, tuple[Any, ...]], Sequence[Any]]


def row_memo(max_entries: int) -> RowMemo:
    """A memo of the converted rows of SQLite reads (see driver_rows): a raw row is a tuple of plain
    values, so an unchanged stored row maps to the same converted row, and a changed one to another."""
    return ContentMemo(_convert_one, max_entries)


def _convert_one(key: tuple[Converter, tuple[Any, ...]]) -> Sequence[Any]:
    converter, raw = key
    return converter((raw,))[0]  # type: ignore[no-any-return]


def _result_conversion(type_: Any, dialect: Dialect) -> Convert | None:
    """What turns the driver's value of a column of `type_` into SQLAlchemy's (None: nothing)."""
    if isinstance(type_, JSON) and dialect.name == "sqlite":
        return json_loads  # SQLite's stored JSON text, read as json.loads reads it
    if isinstance(type_, Float) and not type_.asdecimal:
        return None  # a float from both drivers (asyncpg's processor wants the column's oid to say so)
    return type_._cached_result_processor(dialect, None)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    fixed: Mapping[str, Any]  # values the statement binds itself (an OFFSET 0, a literal's)
    binds: tuple[tuple[str, Convert], ...]  # parameters whose values the dialect converts
    conversions: tuple[tuple[int, Convert], ...]  # result columns to convert, by position
    converter: Converter  # _converter's

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = {**self.fixed, **params}
        for name, convert in self.binds:
            if name in values:
                values[name] = convert(values[name])
        return [values[name] for name in self.names]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        return self.converter(raw)


def _converter(
    width: int, conversions: Sequence[tuple[int, Convert]], row_type: type | None = None
) -> Callable[[Sequence[Any]], list[Any]]:
    """A function of the driver's rows: each a tuple (or a `row_type`) of its `width` values, those
    at a converted position converted (None stays None). Generated once per statement, as one
    comprehension: a loop over the positions per row cost about a third more."""
    if not conversions and row_type is None:
        return list
    names: dict[str, Any] = {f"convert_{position}": convert for position, convert in conversions}
    values = ", ".join(
        f"None if row[{i}] is None else convert_{i}(row[{i}])" if f"convert_{i}" in names else f"row[{i}]"
        for i in range(width)
    )
    if row_type is not None:
        names["_row"] = row_type
    made = f"_row({values})" if row_type is not None else f"({values},)"
    source = f"def rows(raw):\n    return [{made} for row in raw]\n"
    exec(compile(source, "<driver rows>", "exec"), names)  # noqa: S102 - code built from column positions
    return names["rows"]  # type: ignore[no-any-return]


@lru_cache(maxsize=1024)  # statements built once (the callers' own bounded caches) x dialects
def compiled_for(statement: Select[Any], dialect: Dialect, named: bool = False) -> _Compiled | None:
    """`statement` compiled for the driver, or None when it must go through SQLAlchemy (or, when
    `named`, when its columns' keys cannot all be attribute names)."""
    compiled: Any = statement.compile(dialect=dialect)
    if (
        not compiled.positional
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
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
            fixed[name] = bind.effective_value
        if (convert := bind.type._cached_bind_processor(dialect)) is not None:
            binds.append((name, convert))
    width = len(compiled._result_columns)
    row_type: type | None = None
    if named:  # the keys SQLAlchemy's rows have (labels, columns' names, deduplicated as id_1)
        keys = [column.keyname for column in compiled._result_columns]
        if not all(key.isidentifier() and not key.startswith("_") for key in keys):
            return None
        row_type = namedtuple("Row", keys)  # type: ignore[misc,no-redef]
    return _Compiled(
        str(compiled),
        tuple(compiled.positiontup),
        fixed,
        tuple(binds),
        tuple(conversions),
        _converter(width, conversions, row_type),
    )


async def driver_rows(
    reads: Reads,
    statement: Select[Any],
    params: Mapping[str, Any],
    memo: RowMemo | None = None,
    *,
    named: bool = False,
) -> Sequence[Any]:
    """The rows of `statement` (built once: compiled forms are cached by the statement) executed
    with `params`, each a sequence of the values SQLAlchemy's rows would hold, in its columns'
    order, and `named`, with the columns as attributes too. With a `memo`, SQLite's rows come from
    it: the same converted row (one shared object, which no caller may change) for every read of
    an unchanged stored row."""
    sync = reads.sync_connection if isinstance(reads, AsyncConnection) else None
    if sync is not None and not sync.invalidated and not sync.closed:
        compiled = compiled_for(statement, sync.dialect, named)
        if compiled is not None:
            driver: Any = sync.connection.driver_connection
            if isinstance(driver, sqlite3.Connection):
                cursor = driver.cursor()
                try:
                    raw = cursor.execute(compiled.sql, compiled.arguments(params)).fetchall()
                    if memo is None:
                        return compiled.rows(raw)
                    converter = compiled.converter
                    return [memo((converter, row)) for row in raw]
                except WouldWait:  # SQLite busy: nothing ran; SQLAlchemy's bridge waits
                    pass
                finally:
                    cursor.close()
            elif sync.dialect.driver == "asyncpg":
                fetched: Sequence[Sequence[Any]] = await driver.fetch(compiled.sql, *compiled.arguments(params))
                return compiled.rows(fetched)
    rows: Sequence[Any] = (await reads.execute(statement, params)).all()
    return rows
