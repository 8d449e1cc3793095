"""The duplicate check's reads: the active customers that may duplicate a probe, found through
the exact name and credit code indexes and the name key table (`customer_name_keys`), with who
holds them (the directory replica), in one round trip whatever the table's size."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from collections.abc import Collection

from sqlalchemy import ARRAY, Integer, Select, String, bindparam, func, or_, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.db import dialect_name
from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_customers import models
from salesgrid_customers.domain.dedup import MAX_CANDIDATE_KEYS, CandidateCustomer, OwnerInfo, candidate_keys

MAX_CANDIDATES = 60  # rows sharing the most candidate keys, classified in Python
KEY_POSTINGS = 300  # rows read per candidate key


@lru_cache(maxsize=MAX_CANDIDATE_KEYS + 1)
def _duplicate_candidates(key_count: int) -> Select[Any]:
    """The duplicate check's query for a probe with `key_count` keys, built once and then only run
    with new parameters (building it costs more than PostgreSQL takes to run it): the exact name
    and the credit code through their indexes, and the rows sharing the most of the probe's keys
    through the key table. Each key's posting list is read up to KEY_POSTINGS rows: common grams
    (科技) would otherwise cost time in proportion to the table, while a near duplicate shares
    the rare grams too, whose lists are read whole."""
    customer, name_key = models.Customer, models.CustomerNameKey
    columns = (customer.id, customer.legal_name, customer.normalised_name, customer.credit_code, customer.owner_id)
    exact = select(*columns).where(
        customer.active,
        or_(
            customer.normalised_name == bindparam("name", type_=String),
            customer.credit_code == bindparam("credit_code", type_=String),
        ),
    )
    if not key_count:
        return exact
    postings = union_all(
        *(
            select(name_key.customer_id)
            .where(name_key.key == bindparam(f"key{index}", type_=String))
            .limit(KEY_POSTINGS)
            .subquery()
            .select()
            for index in range(key_count)
        )
    ).subquery()
    shared = func.count()
    nearest = (
        select(postings.c.customer_id)
        .group_by(postings.c.customer_id)
        .having(shared >= bindparam("least", type_=Integer))
        .order_by(shared.desc())
        .limit(MAX_CANDIDATES)
        .subquery()
    )
    return union(exact, select(*columns).join(nearest, nearest.c.customer_id == customer.id).where(customer.active))


@lru_cache(maxsize=MAX_CANDIDATE_KEYS + 1)
def _candidates_and_owners(key_count: int) -> Select[Any]:
    """_duplicate_candidates' rows, each with its owner's name and unit as the directory replica
    knows them (NULL: an owner it does not know yet, or none): the candidates and what a rep needs
    to ask their owners for sharing in one statement, built once per key count."""
    found = _duplicate_candidates(key_count).subquery()
    users, units = directory_users, directory_units
    return select(*found.c, users.c.user_id, users.c.display_name, users.c.unit_id, units.c.name).select_from(
        found.outerjoin(users, users.c.user_id == found.c.owner_id).outerjoin(units, units.c.unit_id == users.c.unit_id)
    )


async def duplicate_candidates(
    session: AsyncSession, normalised: str, credit_code: str | None
) -> tuple[list[CandidateCustomer], dict[str, OwnerInfo]]:
    """The customers to classify against a probe of this normalised name and credit code, and
    their owners known to the directory replica, by user id."""
    keys = sorted(candidate_keys(normalised))
    # Sharing one gram of many (科技) is chance, not similarity: classifying is the costly part.
    parameters = {
        "name": normalised,
        "credit_code": credit_code,
        "least": 1 if len(keys) < 4 else 2,
        **{f"key{index}": key for index, key in enumerate(keys)},
    }
    rows = (await session.execute(_candidates_and_owners(len(keys)), parameters)).all()
    owners = {
        user_id: OwnerInfo(name, unit_id, unit_name or "")
        for *_, user_id, name, unit_id, unit_name in rows
        if user_id is not None
    }
    return [CandidateCustomer(*row[:5]) for row in rows], owners


_customer = models.Customer
_TAKEN = select(_customer.normalised_name, _customer.credit_code).where(_customer.active)
# PostgreSQL: the batch's names and codes as two array parameters (an IN list renders and casts one
# bound parameter per name, hundreds per import batch, on every run).
_TAKEN_ANY = _TAKEN.where(
    or_(
        _customer.normalised_name == func.any(bindparam("names", type_=ARRAY(String))),
        _customer.credit_code == func.any(bindparam("codes", type_=ARRAY(String))),
    )
)


async def taken_names_and_codes(
    session: AsyncSession, names: Collection[str], codes: Collection[str]
) -> tuple[set[str], set[str]]:
    """Of these normalised names and credit codes, those an active customer has (one query)."""
    if dialect_name(session) == "postgresql":
        result = await session.execute(_TAKEN_ANY, {"names": list(names), "codes": list(codes)})
    else:
        result = await session.execute(
            _TAKEN.where(or_(_customer.normalised_name.in_(names), _customer.credit_code.in_(codes)))
        )
    rows = result.all()
    return {name for name, _ in rows}, {code for _, code in rows if code}
