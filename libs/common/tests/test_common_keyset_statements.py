"""Keyset statements built once (salesgrid_common.paging.keyset_statements / keyset_rows): with the
query's values, the cursor and the page size bound at execution, they page exactly as keyset_page
and sorted_keyset_page (the same rows, the same cursors, either way round), count the total with
the query's values when asked, and refuse a cursor they did not write. Run on a connection and
in a session (db.reading picks one), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import String, bindparam, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_common import paging
from salesgrid_common.db import (
    SessionFactory,
    UtcDateTime,
    create_engine,
    create_reader,
    reading,
    session_factory,
)
from salesgrid_common.errors import ValidationFailed

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "keyset_rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


TABLE = Row.__table__
# owner "a" holds 6 of the 10 rows, "b" 4; their times repeat (ties broken by id)
ROWS = [{"id": f"r{n:02}", "owner": "b" if n % 3 == 0 else "a", "at": T0 + timedelta(minutes=n % 4)} for n in range(10)]
OWNED = select(TABLE.c.id, TABLE.c.owner, TABLE.c.at).where(TABLE.c.owner == bindparam("owner"))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    """Sessions of the read-only engine (SQLite's writer sessions would queue for the write lock)."""
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(TABLE.insert(), ROWS)
    reader = create_reader(database_url, engine)
    yield session_factory(reader)
    await reader.dispose()
    await engine.dispose()


def orm_query(owner: str) -> Any:
    return select(Row).where(Row.owner == owner)


@pytest.mark.parametrize("on", ["connection", "session"])
@pytest.mark.parametrize(
    ("sort", "descending"), [(None, True), (None, False), ("owner", False), ("at", True), ("at", False)]
)
async def test_pages_match_keyset_page_and_sorted_keyset_page(
    sessions: SessionFactory, on: str, sort: str | None, descending: bool
) -> None:
    statements = paging.keyset_statements(
        OWNED, TABLE.c.id, sort_column=None if sort is None else TABLE.c[sort], descending=descending
    )
    opened = sessions.kw["bind"].connect() if on == "connection" else sessions()
    async with opened as reads, sessions() as session:
        token, expected_token, seen = "", "", []
        for _ in range(10):
            page = await paging.keyset_rows(reads, statements, {"owner": "a"}, 3, token)
            if sort is None:
                expected = await paging.keyset_page(
                    session, orm_query("a"), Row.id, 3, expected_token, newest_first=descending
                )
            else:
                column = getattr(Row, sort)
                expected = await paging.sorted_keyset_page(
                    session, orm_query("a"), column, Row.id, 3, expected_token, descending=descending
                )
            assert [r.id for r in page.items] == [r.id for r in expected.items]
            assert page.next_token == expected.next_token
            seen += [r.id for r in page.items]
            # the cursors are one kind: the next page is read with the other's
            token, expected_token = expected.next_token, page.next_token
            if not token:
                break
        assert sorted(seen) == sorted(r["id"] for r in ROWS if r["owner"] == "a") and len(seen) == 6


async def test_the_total_is_counted_with_the_bound_values_and_bad_cursors_are_refused(
    sessions: SessionFactory,
) -> None:
    statements = paging.keyset_statements(OWNED, TABLE.c.id, sort_column=TABLE.c.at)
    async with reading(sessions) as reads:
        with paging.asked_for(pb.ListFollowUpsRequest(page_size=2, include_total=True)) as wanted:
            page = await paging.keyset_rows(reads, statements, {"owner": "b"}, 2, "")
            assert wanted is not None and wanted.total == 4 and len(page.items) == 2 and page.next_token
        with paging.asked_for(pb.ListFollowUpsRequest(page_size=2)) as wanted:
            last = await paging.keyset_rows(reads, statements, {"owner": "b"}, 2, page.next_token)
            assert wanted is None and len(last.items) == 2 and last.next_token == ""
        with pytest.raises(ValidationFailed):
            await paging.keyset_rows(reads, statements, {"owner": "b"}, 2, "not-a-cursor")
        with pytest.raises(ValidationFailed):
            await paging.keyset_rows(reads, statements, {"owner": "b"}, -1, "")
