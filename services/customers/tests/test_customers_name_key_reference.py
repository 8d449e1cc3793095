"""A name key never refers to a customer that does not exist, on SQLite (its foreign key) and on
PostgreSQL (statement-level triggers, migration b7d1e3f5a901): a key written for a missing
customer is refused with its whole statement, a customer that still has keys cannot be removed,
and a removal racing a key write is refused whichever comes first."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salesgrid_customers import models
from salesgrid_customers.domain.search import index_keys
from salesgrid_customers.stores.customers import insert_customers
from salesgrid_common.copy_rows import LOOP_CHUNK
from salesgrid_customers.stores.name_keys import insert_name_keys

from test_customers_stores import customer

CUSTOMERS = models.Customer.__table__
KEYS = models.CustomerNameKey.__table__


async def keys_of(sessions: async_sessionmaker[AsyncSession], customer_id: str) -> set[str]:
    async with sessions() as session:
        return set((await session.scalars(select(KEYS.c.key).where(KEYS.c.customer_id == customer_id))).all())


async def count(sessions: async_sessionmaker[AsyncSession], table) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def bare_customer(sessions: async_sessionmaker[AsyncSession], customer_id: str, name: str) -> None:
    """A customer without its keys (nothing else refers to it either)."""
    async with sessions() as session, session.begin():
        await insert_customers(session, [customer(customer_id, name, "rep-a")], [])
        await session.execute(delete(KEYS).where(KEYS.c.customer_id == customer_id))


async def test_keys_of_missing_customers_are_refused_with_their_statement(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await insert_customers(session, [customer("c-1", "参照一号有限公司", "rep-a")], [])
    assert await keys_of(sessions, "c-1") == index_keys("参照一号有限公司")
    written = await count(sessions, KEYS)
    for batch in ([("c-missing", "无主名称")], [("c-1", "参照一号新名称"), ("c-missing", "无主名称")]):
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin():
                await insert_name_keys(session, batch)
        assert await count(sessions, KEYS) == written  # nothing of the statement stays
    with pytest.raises(IntegrityError):  # a key moved onto a missing customer
        async with sessions() as session, session.begin():
            await session.execute(update(KEYS).where(KEYS.c.customer_id == "c-1").values(customer_id="c-missing"))
    assert await keys_of(sessions, "c-1") == index_keys("参照一号有限公司")


async def test_a_customer_with_name_keys_cannot_be_removed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await insert_customers(
            session, [customer("c-1", "参照一号有限公司", "rep-a"), customer("c-2", "参照二号有限公司", "rep-a")], []
        )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(delete(CUSTOMERS).where(CUSTOMERS.c.id.in_(["c-1", "c-2"])))
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            await session.execute(update(CUSTOMERS).where(CUSTOMERS.c.id == "c-1").values(id="c-renumbered"))
    assert await count(sessions, CUSTOMERS) == 2 and await keys_of(sessions, "c-1") == index_keys("参照一号有限公司")
    # Without its keys the customer can go (the reference is the only thing that held it).
    async with sessions() as session, session.begin():
        await session.execute(delete(KEYS).where(KEYS.c.customer_id == "c-2"))
        await session.execute(delete(CUSTOMERS).where(CUSTOMERS.c.id == "c-2"))
    assert await count(sessions, CUSTOMERS) == 1


async def blocked(task: asyncio.Task[None]) -> bool:
    done, _ = await asyncio.wait([task], timeout=0.5)
    return not done


async def test_a_removal_racing_a_key_write_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Both orders of two concurrent transactions: on PostgreSQL the triggers' lock serialises
    them, on SQLite the one write lock does; either way the later one is refused."""
    for customer_id in ("c-keys-first", "c-removal-first"):
        await bare_customer(sessions, customer_id, f"竞态{customer_id}有限公司")

    # The keys are written first: the removal waits for that transaction, then finds them.
    async with sessions() as writer:
        await writer.begin()
        await insert_name_keys(writer, [("c-keys-first", "竞态先写名称")])

        async def remove() -> None:
            async with sessions() as remover, remover.begin():
                await remover.execute(delete(CUSTOMERS).where(CUSTOMERS.c.id == "c-keys-first"))

        removal = asyncio.create_task(remove())
        assert await blocked(removal)
        await writer.commit()
    with pytest.raises(IntegrityError):
        await removal
    assert await keys_of(sessions, "c-keys-first") == index_keys("竞态先写名称")

    # The removal comes first: the key write waits for it, then no longer finds the customer.
    async with sessions() as remover:
        await remover.begin()
        await remover.execute(delete(CUSTOMERS).where(CUSTOMERS.c.id == "c-removal-first"))

        async def write() -> None:
            async with sessions() as writer, writer.begin():
                await insert_name_keys(writer, [("c-removal-first", "竞态后写名称")])

        writing = asyncio.create_task(write())
        assert await blocked(writing)
        await remover.commit()
    with pytest.raises(IntegrityError):
        await writing
    assert await keys_of(sessions, "c-removal-first") == set()
    assert await count(sessions, CUSTOMERS) == 1  # c-keys-first stays, with its keys


async def test_a_batch_larger_than_a_loop_chunk_writes_every_customers_keys(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An import's batch goes in chunks on SQLite (copy_rows.LOOP_CHUNK, the loop free between
    them), in one statement on PostgreSQL: either way every customer of it has its keys, and the
    staged rows are all marked."""
    names = {f"c-{n:03d}": f"分块写入{n:03d}号有限公司" for n in range(2 * LOOP_CHUNK + 7)}
    async with sessions() as session, session.begin():
        await insert_customers(session, [customer(i, name, "rep-a") for i, name in names.items()], [])
    for customer_id in ("c-000", f"c-{LOOP_CHUNK:03d}", f"c-{2 * LOOP_CHUNK + 6:03d}"):
        assert await keys_of(sessions, customer_id) == index_keys(names[customer_id])
    assert await count(sessions, KEYS) == sum(len(index_keys(name)) for name in names.values())
