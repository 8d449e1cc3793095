"""The merged-id → survivor map every service keeps from customers' `merged` event, on SQLite and
PostgreSQL: lookups, chains of merges, and applying one merge twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Column, MetaData, String, Table, select, update

from salesgrid_common.customer_merges import (
    customer_merges,
    merged_into,
    merges_metadata,
    record_merge,
    survivor_of,
    writing_for_many,
)
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.weighted_pipeline import weight_percent, weighted_amount, weighted_pipeline

AT = datetime(2026, 5, 1, tzinfo=UTC)


async def test_merges_map_chains_and_reapplies(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(merges_metadata.create_all)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            assert await survivor_of(session, "a") == "a"
            assert await record_merge(session, "b", ["a"], AT) == ["a"]
            assert await record_merge(session, "b", ["a", "b", ""], AT) == ["a"]  # again: nothing new
        async with sessions() as session, session.begin():
            assert await survivor_of(session, "a") == "b"
            # b itself merged into c later: a follows to c in one lookup, and c's repoint learns of a
            assert sorted(await record_merge(session, "c", ["b"], AT)) == ["a", "b"]
        async with sessions() as session:
            assert [await survivor_of(session, i) for i in ("a", "b", "c")] == ["c", "c", "c"]
            assert await merged_into(session, "c") == ["a", "b"]
            rows = (await session.execute(customer_merges.select())).all()
            assert len(rows) == 2
    finally:
        await engine.dispose()


async def test_a_write_and_a_merge_of_its_customer_never_interleave(database_url: str) -> None:
    """A write that resolved a customer id holds off that customer's merge until it commits, so the
    merge's re-attach sees the new record (PostgreSQL: the advisory locks; SQLite: one writer)."""
    records = Table("records", MetaData(), Column("id", String(8), primary_key=True), Column("customer_id", String(8)))
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(merges_metadata.create_all)
            await conn.run_sync(records.metadata.create_all)
        sessions = session_factory(engine)
        written, release = asyncio.Event(), asyncio.Event()

        async def write() -> None:
            async with sessions() as session, session.begin():
                customer = await survivor_of(session, "d")
                await session.execute(records.insert().values(id="r1", customer_id=customer))
                written.set()
                await release.wait()

        async def merge() -> None:
            await written.wait()
            async with sessions() as session, session.begin():
                ids = await record_merge(session, "s", ["d"], AT)
                await session.execute(update(records).where(records.c.customer_id.in_(ids)).values(customer_id="s"))

        writer, merger = asyncio.create_task(write()), asyncio.create_task(merge())
        await written.wait()
        await asyncio.sleep(0.3)
        assert not merger.done()  # waiting for the write to commit
        release.set()
        await asyncio.wait_for(asyncio.gather(writer, merger), 10)
        async with sessions() as session:
            assert await session.scalar(select(records.c.customer_id)) == "s"
    finally:
        await engine.dispose()


async def test_a_batch_resolves_its_customers_and_holds_off_their_merges(database_url: str) -> None:
    """writing_for_many, PostgreSQL: each id's survivor (merged ones followed, empty ids left out),
    and a merge of any of the batch's customers waits for the batch's transaction. SQLite (one
    writer at a time): each id itself, which the statements that write resolve on their own."""
    engine = create_engine(database_url)
    postgres = database_url.startswith("postgresql")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(merges_metadata.create_all)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            await record_merge(session, "b", ["a"], AT)
        resolved, release = asyncio.Event(), asyncio.Event()

        async def batch() -> dict[str, str]:
            async with sessions() as session, session.begin():
                answers = await writing_for_many(session, ["z", "a", "", "b", "z"])
                resolved.set()
                await release.wait()
                return answers

        async def merge() -> None:
            await resolved.wait()
            async with sessions() as session, session.begin():
                await record_merge(session, "y", ["z"], AT)

        batcher, merger = asyncio.create_task(batch()), asyncio.create_task(merge())
        await resolved.wait()
        await asyncio.sleep(0.3)
        assert merger.done() is not postgres  # on PostgreSQL waiting for the batch to commit
        release.set()
        answers, _ = await asyncio.wait_for(asyncio.gather(batcher, merger), 10)
        assert answers == ({"a": "b", "b": "b", "z": "z"} if postgres else {"a": "a", "b": "b", "z": "z"})
        async with sessions() as session, session.begin():
            later = await writing_for_many(session, ["z", "a"])
            assert later == ({"a": "b", "z": "y"} if postgres else {"a": "a", "z": "z"})
            assert await writing_for_many(session, []) == {}
    finally:
        await engine.dispose()


def test_weighted_pipeline_definition() -> None:
    assert weighted_amount(Decimal("100000.00"), 40) == Decimal("40000")
    assert weight_percent("won", 40) == 100 and weight_percent("lost", 80) == 0
    # summed exactly, rounded half up once: 3 × 0.335 = 1.005 → 1.01 (per-deal rounding would say 1.02)
    assert weighted_pipeline([(Decimal("0.67"), 50)] * 3) == Decimal("1.01")
    with pytest.raises(ValueError):
        weight_percent("open", 101)
