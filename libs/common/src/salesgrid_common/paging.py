"""Keyset (cursor) pagination on a time-ordered id: never skips or repeats a row, whatever is
inserted meanwhile, and costs an index range scan instead of an OFFSET."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str  # "" on the last page


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if requested < 0:
        raise ValidationFailed("must not be negative", "page_size")
    return min(requested or default, maximum)


async def keyset_page(session: AsyncSession, query: Select[Any], id_column: Any, requested_size: int, token: str,
                      *, newest_first: bool = True) -> Page[Any]:
    """One page of `query` (a select of ORM entities with an `id`) ordered by `id_column`."""
    size = page_size(requested_size)
    if token:
        query = query.where(id_column < token if newest_first else id_column > token)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = list((await session.scalars(query.order_by(order).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, str(rows[-1].id) if more and rows else "")
