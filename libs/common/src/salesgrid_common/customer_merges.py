"""Each service's map of merged customers to their survivor, fed by customers' `merged` event.

`POST /v1/customers/merge` deactivates the duplicates; every service that holds records of a
customer re-attaches them to the survivor when it consumes `salesgrid.customers.customer.merged`,
and keeps `merged id -> survivor id` here, so a later event, request or filter that still names a
merged id lands on the survivor. A merge of a survivor into a third customer re-points the earlier
merged ids too, so every lookup is one row. Applying one merge twice changes nothing.

On PostgreSQL a write naming a customer and a merge of that customer could interleave (the write
reads no map row yet, the merge re-attaches rows without seeing the write's uncommitted one), so
both take a transaction-scoped advisory lock on the customer id: shared for a write
(`survivor_of`), exclusive for a merge (`record_merge`), whichever comes second waits for the
first to commit. SQLite runs one writing transaction at a time and needs no lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime

from sqlalchemy import ARRAY, Column, ColumnElement, MetaData, String, Table, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerMerged
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import UtcDateTime, dialect_name
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.protos import from_timestamp

MERGED_EVENT = "salesgrid.customers.customer.merged"

merges_metadata = MetaData()

customer_merges = Table(
    "customer_merges",
    merges_metadata,
    Column("merged_id", String(128), primary_key=True),
    Column("survivor_id", String(128), nullable=False, index=True),
    Column("merged_at", UtcDateTime(), nullable=False),
)

# (session, survivor id, every id that now resolves to it) -> re-attach the service's records
Repoint = Callable[[AsyncSession, str, Sequence[str]], Awaitable[None]]

_LOCK_CLASS = 0x5347  # the advisory-lock namespace of customer merges


async def _lock(session: AsyncSession, customer_id: str, *, shared: bool) -> None:
    """Until the transaction ends: shared for writes naming the customer, exclusive for its merge."""
    if dialect_name(session) != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await session.execute(text(f"SELECT {function}(:space, hashtext(:id))"), {"space": _LOCK_CLASS, "id": customer_id})


# Built once, bound at execution: consumers look a customer up for nearly every event they apply,
# and building the statement and its cache key each time cost as much as running it.
_SURVIVOR = select(customer_merges.c.survivor_id).where(customer_merges.c.merged_id == bindparam("customer_id"))


async def _lookup(session: AsyncSession, customer_id: str) -> str:
    survivor = await session.scalar(_SURVIVOR, {"customer_id": customer_id})
    return survivor or customer_id


async def record_merge(session: AsyncSession, survivor_id: str, merged_ids: Iterable[str], at: datetime) -> list[str]:
    """Map `merged_ids` (and whatever had been merged into them) to `survivor_id`; returns every id
    now resolving to the survivor other than itself, for the caller to re-attach its records."""
    merged = [i for i in dict.fromkeys(merged_ids) if i and i != survivor_id]
    if not merged:
        return []
    for customer_id in sorted(merged):  # a fixed order: two merges never wait on each other in a cycle
        await _lock(session, customer_id, shared=False)
    earlier = list(
        (
            await session.scalars(select(customer_merges.c.merged_id).where(customer_merges.c.survivor_id.in_(merged)))
        ).all()
    )
    if earlier:
        await session.execute(
            update(customer_merges).where(customer_merges.c.survivor_id.in_(merged)).values(survivor_id=survivor_id)
        )
    # A survivor that was itself merged away before (an un-merge is not a thing) keeps no stale row.
    await session.execute(customer_merges.delete().where(customer_merges.c.merged_id == survivor_id))
    known = set(
        (
            await session.scalars(select(customer_merges.c.merged_id).where(customer_merges.c.merged_id.in_(merged)))
        ).all()
    )
    if known:
        await session.execute(
            update(customer_merges).where(customer_merges.c.merged_id.in_(known)).values(survivor_id=survivor_id)
        )
    for merged_id in merged:
        if merged_id not in known:
            await session.execute(
                customer_merges.insert().values(merged_id=merged_id, survivor_id=survivor_id, merged_at=at)
            )
    return [*merged, *(i for i in earlier if i not in merged)]


async def survivor_of(session: AsyncSession, customer_id: str, *, writing: bool = True) -> str:
    """The customer a (possibly merged) id now stands for; the id itself when it was never merged.
    `writing`: the caller is about to write a record under the answer, so a merge of it waits for
    this transaction (and a merge under way is waited for); a read-only filter passes False."""
    if not customer_id:
        return customer_id
    if not writing:
        return await _lookup(session, customer_id)
    await _lock(session, customer_id, shared=True)
    survivor = await _lookup(session, customer_id)
    for _ in range(3):  # the survivor itself may be being merged away: wait for that, then look again
        if survivor == customer_id:
            break
        await _lock(session, survivor, shared=True)
        again = await _lookup(session, customer_id)
        if again == survivor:
            break
        survivor = again
    return survivor


def survivor_in_statement(parameter: str) -> ColumnElement[str]:
    """SQL for "the survivor of the customer id bound to `parameter`, else that id": a statement
    writing a record under a customer resolves a merged id itself, with no lookup statement of its
    own. Give it the id `writing_for` answers."""
    return func.coalesce(
        select(customer_merges.c.survivor_id)
        .where(customer_merges.c.merged_id == bindparam(parameter, type_=String))
        .scalar_subquery(),
        bindparam(parameter, type_=String),
    )


async def writing_for(session: AsyncSession, customer_id: str) -> str:
    """The customer id to bind for a statement that resolves it with `survivor_in_statement`. On
    PostgreSQL this is `survivor_of`, which first takes its shared lock, so a merge of the customer
    (or of its survivor) waits for this transaction or this transaction for the merge; it answers
    the survivor, which maps to itself. SQLite runs one writing transaction at a time: no lock, and
    the statement's own lookup is the answer."""
    if dialect_name(session) == "postgresql":
        return await survivor_of(session, customer_id)
    return customer_id


# A batch's shared locks in one statement, taken in the order given (ordinality, not the server's
# collation: merges take theirs one by one in Python's sorted order, and so must this).
_LOCK_SHARED_MANY = text(
    "SELECT count(pg_advisory_xact_lock_shared(:space, hashtext(ordered.id))) FROM "
    "(SELECT id FROM unnest(CAST(:ids AS text[])) WITH ORDINALITY AS given(id, n) ORDER BY n) AS ordered"
)
_SURVIVORS = select(customer_merges.c.merged_id, customer_merges.c.survivor_id).where(
    customer_merges.c.merged_id == func.any(bindparam("ids", type_=ARRAY(String)))
)


async def writing_for_many(session: AsyncSession, customer_ids: Iterable[str]) -> dict[str, str]:
    """`writing_for` of each of these ids (a consumer's batch), by id. On PostgreSQL the shared
    locks are one statement, taken in sorted order as a merge takes its exclusive ones (so neither
    waits on the other in a cycle), and the lookups one more; an id found merged goes through
    `survivor_of` (its survivor may be being merged away). SQLite: each id itself."""
    ids = sorted({customer_id for customer_id in customer_ids if customer_id})
    if not ids or dialect_name(session) != "postgresql":
        return {customer_id: customer_id for customer_id in ids}
    await session.execute(_LOCK_SHARED_MANY, {"space": _LOCK_CLASS, "ids": ids})
    merged = dict((await session.execute(_SURVIVORS, {"ids": ids})).tuples().all())
    return {
        customer_id: await survivor_of(session, customer_id) if customer_id in merged else customer_id
        for customer_id in ids
    }


async def merged_into(session: AsyncSession, survivor_id: str) -> list[str]:
    """Every id merged into `survivor_id` (for filters that must find the merged records' history)."""
    return list(
        (
            await session.scalars(
                select(customer_merges.c.merged_id)
                .where(customer_merges.c.survivor_id == survivor_id)
                .order_by(customer_merges.c.merged_id)
            )
        ).all()
    )


def merge_subscription(name: str, repoint: Repoint) -> Subscription:
    """A consumer of customers' `merged` event: records the map, then lets the service re-attach."""
    sub = Subscription(name=name, producer="customers")

    @sub.on(MERGED_EVENT, CustomerMerged)
    async def merged(session: AsyncSession, envelope: Envelope, event: CustomerMerged) -> None:
        ids = await record_merge(session, event.survivor_id, event.merged_ids, from_timestamp(envelope.occurred_at))
        if ids:
            await repoint(session, event.survivor_id, ids)

    return sub
