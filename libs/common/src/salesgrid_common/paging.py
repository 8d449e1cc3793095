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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def count_if_asked(session: AsyncSession, query: Select[Any]) -> None:
    """Count `query`'s rows into the current call's TotalRequest, if it asked and has none yet."""
    wanted = _asked.get()
    if wanted is not None and wanted.total is None:
        counted = await session.scalar(
            select(func.count()).select_from(query.order_by(None).limit(None).offset(None).subquery())
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
    """One page of `query` ordered by `id_column`: a select of ORM entities with an `id`, or of a
    table's columns (plain rows: cheaper to read when the caller maps them itself)."""
    size = page_size(requested_size)
    await count_if_asked(session, query)
    if token:
        query = query.where(id_column < token if newest_first else id_column > token)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = await _fetch(session, query.order_by(order).limit(size + 1))
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, str(rows[-1].id) if more and rows else "")


async def _fetch(session: AsyncSession, query: Select[Any]) -> list[Any]:
    """The rows of a page query: ORM entities when it selects one, else plain rows."""
    first = query.column_descriptions[0]
    result = await session.execute(query)
    if isinstance(first.get("expr"), type) and first.get("entity") is not None:
        return list(result.scalars().all())
    return list(result.all())


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
    rows = await _fetch(session, query.order_by(*order).limit(size + 1))
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
