"""The customer name index (`customer_name_keys`): the search keys of each active customer's
normalised name, written with the customer (stores/customers.py) and read by the duplicate check
and the name search."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ARRAY, String, bindparam, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_customers import models
from salesgrid_customers.domain.search import index_keys


async def write_name_keys(session: AsyncSession, customer_id: str, normalised: str, *, new: bool = False) -> None:
    """Replace the customer's search keys (plain statements: a name has dozens of keys, and the
    ORM's unit of work for them cost more than the rest of a create). `new`: none yet."""
    keys = models.CustomerNameKey.__table__
    if not new:
        await session.execute(delete(keys).where(keys.c.customer_id == customer_id))
    if rows := [{"key": key, "customer_id": customer_id} for key in index_keys(normalised)]:
        await session.execute(insert(keys), rows)


_KEYS = models.CustomerNameKey.__table__
# PostgreSQL: a batch's keys as two arrays, one statement (an executemany runs one INSERT per key,
# dozens per customer: most of an import's database time there).
_INSERT_KEYS_UNNESTED = insert(_KEYS).from_select(
    ["key", "customer_id"],
    select(func.unnest(bindparam("keys", type_=ARRAY(String))), func.unnest(bindparam("ids", type_=ARRAY(String)))),
)


async def insert_name_keys(session: AsyncSession, customers: Iterable[tuple[str, str]]) -> None:
    """The search keys of new customers, given as (id, normalised name), in one statement."""
    rows = [(key, customer_id) for customer_id, normalised in customers for key in index_keys(normalised)]
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_INSERT_KEYS_UNNESTED, {"keys": [k for k, _ in rows], "ids": [c for _, c in rows]})
    else:
        await session.execute(insert(_KEYS), [{"key": key, "customer_id": customer_id} for key, customer_id in rows])


async def delete_name_keys(session: AsyncSession, customer_id: str) -> None:
    """The customer's name is no longer searched (deactivated)."""
    await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == customer_id))
