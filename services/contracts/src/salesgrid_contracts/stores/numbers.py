"""The contract number store: the last sequence allocated per (branch, year), `contract_counters`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_contracts import models
from salesgrid_contracts.domain import numbering


async def next_sequence(session: AsyncSession, key: numbering.SequenceKey) -> int:
    """Next gap-free sequence of (branch, year): the counter row is locked (FOR UPDATE on
    PostgreSQL; SQLite transactions are already serialised by BEGIN IMMEDIATE) and bumped in
    the creating transaction, so a rolled-back create gives its number back."""
    insert = conflict_insert(dialect_name(session))
    await session.execute(
        insert(models.ContractCounter)
        .values(branch_code=key.branch_code, year=key.year, last_seq=0)
        .on_conflict_do_nothing()
    )
    counter = await session.scalar(
        select(models.ContractCounter)
        .where(models.ContractCounter.branch_code == key.branch_code, models.ContractCounter.year == key.year)
        .with_for_update()
    )
    assert counter is not None
    counter.last_seq = numbering.next_sequence(counter.last_seq or None)
    return counter.last_seq
