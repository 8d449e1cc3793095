"""Keyset (cursor) pagination on a time-ordered id: never skips or repeats a row, whatever is
inserted meanwhile, and costs an index range scan instead of an OFFSET.

Totals are counted only when asked. Every paged list request of the platform has
`bool include_total` and its reply `optional int64 total`; the server interceptor opens a
`TotalRequest` for a call that set it (`asked_for`), the first page this call reads counts the
rows of its query (the caller's data scope and the list's filters, before the cursor) into it,
and the interceptor writes the count into the reply (`answer`). A use case therefore pages as
always; a list that does not page through `keyset_page` calls `count_if_asked` itself."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import Reads
from salesgrid_common.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str  # "" on the last page


@dataclass
class TotalRequest:
    """A call that asked for its list's total; `total` is set by the first page it reads."""

    total: int | None = None


_asked: ContextVar[TotalRequest | None] = ContextVar("salesgrid_paging_total", default=None)
TOTAL_REQUEST_FIELD, TOTAL_REPLY_FIELD = "include_total", "total"


@contextmanager
def asked_for(request: object) -> Iterator[TotalRequest | None]:
    """While a call runs: a TotalRequest if `request` is a list request that set include_total."""
    wanted = (
        TotalRequest()
        if isinstance(request, Message)
        and TOTAL_REQUEST_FIELD in request.DESCRIPTOR.fields_by_name
        and getattr(request, TOTAL_REQUEST_FIELD)
        else None
    )
    token = _asked.set(wanted)
    try:
        yield wanted
    finally:
        _asked.reset(token)


def answer(reply: object, wanted: TotalRequest | None) -> None:
    """Write the counted total into the list's reply."""
    if (
        wanted is not None
        and wanted.total is not None
        and isinstance(reply, Message)
        and TOTAL_REPLY_FIELD in reply.DESCRIPTOR.fields_by_name
    ):
        setattr(reply, TOTAL_REPLY_FIELD, wanted.total)


async def count_if_asked(session: Reads, query: Select[Any], params: Mapping[str, Any] | None = None) -> None:
    """Count `query`'s rows (executed with `params`, its bound values) into the current call's
    TotalRequest, if it asked and has none yet."""
    wanted = _asked.get()
    if wanted is not None and wanted.total is None:
        counted = await session.scalar(
            select(func.count()).select_from(query.order_by(None).limit(None).offset(None).subquery()), params
        )
        wanted.total = int(counted or 0)


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if requested < 0:
        raise ValidationFailed("must not be negative", "page_size")
    return min(requested or default, maximum)


async def keyset_page(
    session: AsyncSession,
    query: Select[Any],
    id_column: Any,
    requested_size: int,
    token: str,
    *,
    newest_first: bool = True,
) -> Page[Any]:
    """One page of `query` (a select of ORM entities with an `id`) ordered by `id_column`."""
    size = page_size(requested_size)
    await count_if_asked(session, query)
    if token:
        query = query.where(id_column < token if newest_first else id_column > token)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = list((await session.scalars(query.order_by(order).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, str(rows[-1].id) if more and rows else "")


async def sorted_keyset_page(
    session: AsyncSession,
    query: Select[Any],
    sort_column: Any,
    id_column: Any,
    requested_size: int,
    token: str,
    *,
    descending: bool,
) -> Page[Any]:
    """Keyset pages ordered by another column (name, update time…), the id breaking ties. The
    cursor carries the last row's (sort value, id), so rows inserted or updated meanwhile never
    make a page skip or repeat what a reader already holds."""
    size = page_size(requested_size)
    await count_if_asked(session, query)
    if token:
        value, last_id = _decode_cursor(token)
        after = sort_column < value if descending else sort_column > value
        tie = id_column < last_id if descending else id_column > last_id
        query = query.where(or_(after, and_(sort_column == value, tie)))
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column.asc(), id_column.asc())
    rows = list((await session.scalars(query.order_by(*order).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    if not (more and rows):
        return Page(rows, "")
    last = rows[-1]
    return Page(rows, _encode_cursor(getattr(last, sort_column.key), str(last.id)))


def _encode_cursor(value: Any, row_id: str) -> str:
    kind, text = ("t", value.isoformat()) if isinstance(value, datetime) else ("s", str(value))
    return base64.urlsafe_b64encode(json.dumps([kind, text, row_id]).encode()).decode()


def _decode_cursor(token: str) -> tuple[Any, str]:
    try:
        kind, text, row_id = json.loads(base64.urlsafe_b64decode(token.encode()))
        return (datetime.fromisoformat(text) if kind == "t" else str(text)), str(row_id)
    except (ValueError, TypeError):
        raise ValidationFailed("is not a cursor this list returned", "cursor") from None


# Statements built once. A hot list builds its keyset statements once per query shape
# (`keyset_statements`, under an lru_cache) with its filter values, the cursor and the page size as
# bind parameters, and pages with `keyset_rows`: building a SELECT and computing its cache key on
# every call cost more than running it.
KEYSET_LIMIT = "keyset_limit"  # the page size, plus one (is there a next page?)
KEYSET_AFTER = "keyset_after"  # the cursor: the last id, or the last sort value when ordered by another column
KEYSET_AFTER_ID = "keyset_after_id"  # the cursor's id, when ordered by another column


@dataclass(frozen=True)
class KeysetStatements:
    """A query (its total) and its first page and the pages after a cursor, in keyset order."""

    query: Select[Any]
    first: Select[Any]
    after: Select[Any]
    sort_key: str | None  # the sort column's key in a row; None: ordered by id alone
    id_position: int  # where the id and the sort value are in a row of the query's columns
    sort_position: int | None


def keyset_statements(
    query: Select[Any], id_column: Any, *, sort_column: Any = None, descending: bool = True
) -> KeysetStatements:
    """`query`'s keyset pages ordered by `id_column` (or by `sort_column`, the id breaking ties),
    the cursor and page size bound at execution (`keyset_rows`). The query selects columns whose
    keys include the id column's (and the sort column's)."""
    limit = bindparam(KEYSET_LIMIT, type_=Integer)
    if sort_column is None:
        last = bindparam(KEYSET_AFTER, type_=id_column.type)
        after = id_column < last if descending else id_column > last
        order = [id_column.desc() if descending else id_column.asc()]
    else:
        value = bindparam(KEYSET_AFTER, type_=sort_column.type)
        last = bindparam(KEYSET_AFTER_ID, type_=id_column.type)
        beyond = sort_column < value if descending else sort_column > value
        tie = id_column < last if descending else id_column > last
        after = or_(beyond, and_(sort_column == value, tie))
        order = [sort_column.desc(), id_column.desc()] if descending else [sort_column.asc(), id_column.asc()]
    keys = [column.key for column in query.selected_columns]
    return KeysetStatements(
        query,
        query.order_by(*order).limit(limit),
        query.where(after).order_by(*order).limit(limit),
        None if sort_column is None else sort_column.key,
        keys.index(id_column.key),
        None if sort_column is None else keys.index(sort_column.key),
    )


# Runs one of a KeysetStatements' statements with its bound values: the rows (sequences in the
# query's column order) of `(await reads.execute(statement, params)).all()`, or of a cheaper path.
FetchRows = Callable[[Reads, Select[Any], Mapping[str, Any]], Awaitable[Sequence[Sequence[Any]]]]


async def execute_rows(reads: Reads, statement: Select[Any], params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """SQLAlchemy's rows of `statement` (the default FetchRows)."""
    rows: Sequence[Sequence[Any]] = (await reads.execute(statement, params)).all()
    return rows


async def keyset_rows(
    session: Reads,
    statements: KeysetStatements,
    params: Mapping[str, Any],
    requested_size: int,
    token: str,
    fetch: FetchRows = execute_rows,
) -> Page[Sequence[Any]]:
    """One page of rows of `statements` executed with `params` (the query's own bind values) by
    `fetch`; `token` is a cursor this list returned (the same as keyset_page's and
    sorted_keyset_page's)."""
    size = page_size(requested_size)
    await count_if_asked(session, statements.query, params)
    bound = {**params, KEYSET_LIMIT: size + 1}
    if token and statements.sort_key is None:
        bound[KEYSET_AFTER] = token
    elif token:
        bound[KEYSET_AFTER], bound[KEYSET_AFTER_ID] = _decode_cursor(token)
    rows = list(await fetch(session, statements.after if token else statements.first, bound))
    if len(rows) <= size:
        return Page(rows, "")
    del rows[size:]
    last = rows[-1]
    last_id = str(last[statements.id_position])
    if statements.sort_position is None:
        return Page(rows, last_id)
    return Page(rows, _encode_cursor(last[statements.sort_position], last_id))
