"""The customer name index (`customer_name_keys`): the search keys of each active customer's
normalised name, written with the customer (stores/customers.py) and read by the duplicate check
and the name search."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import ARRAY, String, bindparam, delete, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.copy_rows import loop_chunks
from salesgrid_common.db import dialect_name
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
# SQLite: the batch's keys as one JSON document {customer id: [keys]} read by json_each, one
# statement with one parameter (an executemany paid SQLAlchemy's per-row parameter handling for
# each of the dozen keys of every customer: a third of an import's CPU in the service).
_by_customer = func.json_each(bindparam("keys_by_customer", type_=String)).table_valued("key", "value").alias("c")
_keys_of_one = func.json_each(_by_customer.c.value).table_valued("value").alias("k")
_INSERT_KEYS_FROM_JSON = insert(_KEYS).from_select(
    ["key", "customer_id"],
    select(_keys_of_one.c.value, _by_customer.c.key).select_from(_by_customer.join(_keys_of_one, true())),
)


async def insert_name_keys(session: AsyncSession, customers: Iterable[tuple[str, str]]) -> None:
    """The search keys of new customers, given as (id, normalised name), in one statement."""
    keys = {customer_id: list(index_keys(normalised)) for customer_id, normalised in customers}
    if not any(keys.values()):
        return
    if dialect_name(session) == "postgresql":
        await session.execute(
            _INSERT_KEYS_UNNESTED,
            {
                "keys": [key for of_one in keys.values() for key in of_one],
                "ids": [customer_id for customer_id, of_one in keys.items() for _ in of_one],
            },
        )
    else:  # on the event loop: a chunk of customers per statement, other requests run in between
        async for chunk in loop_chunks(list(keys.items())):
            document = json.dumps(dict(chunk), ensure_ascii=False)
            await session.execute(_INSERT_KEYS_FROM_JSON, {"keys_by_customer": document})


async def delete_name_keys(session: AsyncSession, customer_id: str) -> None:
    """The customer's name is no longer searched (deactivated)."""
    await session.execute(delete(models.CustomerNameKey).where(models.CustomerNameKey.customer_id == customer_id))
