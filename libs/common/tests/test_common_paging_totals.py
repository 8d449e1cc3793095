"""Totals only when asked (salesgrid_common.paging): a call whose list request set include_total
gets the count of the whole query (its filters, not its cursor or page size) in the reply's
total; a call that did not ask costs no count and answers none. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid_common import paging
from salesgrid_common.db import SessionFactory, create_engine, session_factory


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "paging_rows"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(36))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    factory = session_factory(engine)
    async with factory() as session, session.begin():
        session.add_all(Row(id=f"r{n:02}", owner="a" if n % 3 else "b") for n in range(10))
    yield factory
    await engine.dispose()


async def test_the_total_is_counted_only_when_asked(sessions: SessionFactory) -> None:
    query = select(Row).where(Row.owner == "a")  # 6 of the 10 rows
    asked = pb.ListFollowUpsRequest(page_size=2, include_total=True)
    async with sessions() as session:
        with paging.asked_for(asked) as wanted:
            first = await paging.keyset_page(session, query, Row.id, 2, "")
            assert wanted is not None and wanted.total == 6
        reply = pb.ListFollowUpsResponse(next_page_token=first.next_token)
        paging.answer(reply, wanted)
        assert reply.HasField("total") and reply.total == 6

        with paging.asked_for(asked) as wanted:  # a later page: the same total, not what is left
            await paging.sorted_keyset_page(session, query, Row.owner, Row.id, 2, "", descending=False)
            assert wanted is not None and wanted.total == 6
        with paging.asked_for(pb.ListFollowUpsRequest(include_total=True)) as wanted:
            await paging.keyset_page(session, query, Row.id, 2, first.next_token)
            assert wanted is not None and wanted.total == 6

        with paging.asked_for(pb.ListFollowUpsRequest(page_size=2)) as wanted:  # not asked: no count
            await paging.keyset_page(session, query, Row.id, 2, "")
        assert wanted is None
        reply = pb.ListFollowUpsResponse()
        paging.answer(reply, wanted)
        assert not reply.HasField("total")

        with paging.asked_for(asked) as wanted:  # a list paged by hand counts itself (limit ignored)
            await paging.count_if_asked(session, select(Row).limit(3))
            assert wanted is not None and wanted.total == 10
