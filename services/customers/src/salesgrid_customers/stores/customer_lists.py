"""Pages of customers: the filtered, scoped and keyset-paged lists (customers, partners, the
pool) and the name search behind them, mapped to domain customers here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.paging import keyset_page, sorted_keyset_page
from salesgrid_customers import models
from salesgrid_customers.domain.customer import Customer, Tier
from salesgrid_customers.domain.search import MatchMode, NameQuery
from salesgrid_customers.stores.customers import CUSTOMER_FIELDS, customers_from_rows
from salesgrid_customers.stores.shares import shared_with

Row = models.Customer

# List orders: column, descending. "newest" (the default) pages on the time-ordered id alone.
LIST_ORDERS: dict[str, tuple[Any, bool]] = {
    "newest": (Row.id, True),
    "name": (Row.normalised_name, False),
    "recently_updated": (Row.updated_at, True),
}


@dataclass(frozen=True)
class CustomerFilter:
    """What ListCustomers narrows to (checked by the use case: tier parsed, query parsed)."""

    owner_id: str = ""
    tier: Tier | None = None
    name_query: NameQuery | None = None
    tag: str = ""  # normalised
    industry: str = ""
    unit_id: str = ""
    updated_since: datetime | None = None
    custom_fields: Mapping[str, str] | None = None


def _in_scope(principal: Principal) -> Select[tuple[Row]]:
    return select(Row).where(
        Row.active, scope_filter(principal, "customers:read", Row.owner_id, Row.org_path, shared_with(principal))
    )


async def customers_page(
    session: AsyncSession,
    principal: Principal,
    where: CustomerFilter,
    *,
    sort: str,
    page_size: int,
    cursor: str,
    search_candidates: int,
) -> tuple[list[Customer], str]:
    """A page of the active customers the caller's scope shows, in the `sort` order of LIST_ORDERS."""
    stmt = _in_scope(principal)
    if where.owner_id:
        stmt = stmt.where(Row.owner_id == where.owner_id)
    if where.tier is not None:
        stmt = stmt.where(Row.tier == where.tier.value)
    if where.tag:
        # Tags are stored normalised as a JSON array; the JSON-encoded tag is a portable needle.
        stmt = stmt.where(cast(Row.tags, String).contains(json.dumps(where.tag), autoescape=True))
    if where.industry:
        stmt = stmt.where(Row.industry == where.industry)
    if where.unit_id:
        stmt = stmt.where(Row.org_path.contains(f"/{where.unit_id}/", autoescape=True))
    if where.updated_since is not None:
        stmt = stmt.where(Row.updated_at >= where.updated_since)
    stmt = stmt.where(*await filter_clauses(session, CUSTOMER_FIELDS, Row.id, where.custom_fields or {}))
    if where.name_query is not None:
        stmt = await _name_search(session, stmt, where.name_query, search_candidates)
    if sort in ("", "newest"):
        found = await keyset_page(session, stmt, Row.id, page_size, cursor)
    else:
        column, descending = LIST_ORDERS[sort]
        found = await sorted_keyset_page(session, stmt, column, Row.id, page_size, cursor, descending=descending)
    return customers_from_rows(found.items), found.next_token


async def _name_search(
    session: AsyncSession, stmt: Select[Any], name_query: NameQuery, search_candidates: int
) -> Select[Any]:
    """Names carrying every key of the query, confirmed by a text test. First the key index
    alone: the newest `search_candidates` customers holding all the keys (index-only joins,
    no customer rows read). Fewer than that is the complete set, and the page is read by
    id from it whatever its order or scope, so a rare combination of common grams (医药物流)
    costs its posting lists and no more. As many means the words are common: the page is
    then read newest first, joined to one key, where matches are dense."""
    # Keys as literals: PostgreSQL then plans with each key's own frequency; a generic plan
    # for parameters merged common posting lists about eight times slower.
    keys = [bindparam(None, key, type_=String, literal_execute=True) for key in name_query.keys]
    postings = [aliased(models.CustomerNameKey) for _ in keys]
    first = postings[0]
    candidates = select(first.customer_id).where(first.key == keys[0])
    for keyed, key in zip(postings[1:], keys[1:], strict=True):
        candidates = candidates.join(keyed, and_(keyed.customer_id == first.customer_id, keyed.key == key))
    ids = (await session.scalars(candidates.order_by(first.customer_id.desc()).limit(search_candidates))).all()
    column = Row.normalised_name
    confirm = (
        column.contains(name_query.text, autoescape=True)
        if name_query.mode is MatchMode.CONTAINS
        else column.startswith(name_query.text, autoescape=True)
    )
    if len(ids) < search_candidates:
        return stmt.where(Row.id.in_(ids), confirm)
    keyed = models.CustomerNameKey
    return stmt.join(keyed, and_(keyed.customer_id == Row.id, keyed.key == keys[0])).where(confirm)


async def partners_page(
    session: AsyncSession, principal: Principal, *, channel: str, tier: str, page_size: int, cursor: str
) -> tuple[list[Customer], str]:
    """Partners in the caller's customer scope (of the channel and tier, when given), newest first."""
    stmt = _in_scope(principal).where(Row.partner_channel != "")
    if channel:
        stmt = stmt.where(Row.partner_channel == channel)
    if tier:
        stmt = stmt.where(Row.partner_tier == tier)
    found = await keyset_page(session, stmt, Row.id, page_size, cursor)
    return customers_from_rows(found.items), found.next_token


async def pool_page(session: AsyncSession, page_size: int, cursor: str) -> tuple[list[Customer], str]:
    """The customers in the public pool, newest by id first."""
    stmt = select(Row).where(Row.active, Row.owner_id.is_(None))
    found = await keyset_page(session, stmt, Row.id, page_size, cursor)
    return customers_from_rows(found.items), found.next_token
