"""Pages of customers: the filtered, scoped and keyset-paged lists (customers, partners, the
pool) and the name search behind them, mapped to domain customers here. The common pages run
statements built once per shape (scope, order, which simple filters) with every value bound at
execution; a name search, a tag, a unit or a custom-field filter builds its statement per call.

The same pages are read again and again (a manager's first page, a rep's own), and turning their
rows into domain customers cost about as much as reading them. On SQLite the pages built once keep
a bounded memo: a stored row read again (every one of its raw values equal) maps to the same
converted row and the same domain customer, shared and never changed; a changed row is a new key.
Every page still runs its statement: what the caller's scope shows, and each row's values, are
read afresh."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import ScopeShape, scope_clause, scope_params, scope_shape
from salesgrid_common.custom_fields.records import filter_clauses
from salesgrid_common.db import Reads, on_sqlite
from salesgrid_common.memo import IdentityMemo
from salesgrid_common.paging import KeysetStatements, Page, execute_rows, keyset_rows, keyset_statements
from salesgrid_customers.domain.customer import Customer, SharedCustomers, Tier
from salesgrid_customers.domain.search import NameQuery
from salesgrid_customers.stores.customer_records import CUSTOMER_COLUMNS, CUSTOMERS, customer_from_record
from salesgrid_customers.stores.customers import CUSTOMER_FIELDS
from salesgrid_common.driver_rows import driver_rows, row_memo
from salesgrid_customers.stores.name_search import SearchShape, narrowed_by_name, narrowing
from salesgrid_customers.stores.shares import shared_with_caller

_c = CUSTOMERS.c

PAGE_MEMO_ENTRIES = 2048  # rows (and their customers): a hundred pages of twenty, a few MB
_page_rows = row_memo(PAGE_MEMO_ENTRIES)
_page_customers: IdentityMemo[Sequence[Any], Customer] = IdentityMemo(customer_from_record, PAGE_MEMO_ENTRIES)

# List orders: column, descending. "newest" (the default) pages on the time-ordered id alone.
LIST_ORDERS: dict[str, tuple[Any, bool]] = {
    "newest": (_c.id, True),
    "name": (_c.normalised_name, False),
    "recently_updated": (_c.updated_at, True),
}

# The filters a page's statement binds (its shape names which are given), by parameter name.
_BOUND_FILTERS: dict[str, ColumnElement[bool]] = {
    "filter_owner_id": _c.owner_id == bindparam("filter_owner_id"),
    "filter_tier": _c.tier == bindparam("filter_tier"),
    "filter_industry": _c.industry == bindparam("filter_industry"),
    "filter_updated_since": _c.updated_at >= bindparam("filter_updated_since"),
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

    def bound(self) -> dict[str, Any]:
        """The values of the given filters of _BOUND_FILTERS, by parameter name."""
        values = {
            "filter_owner_id": self.owner_id,
            "filter_tier": self.tier.value if self.tier is not None else None,
            "filter_industry": self.industry,
            "filter_updated_since": self.updated_since,
        }
        return {name: value for name, value in values.items() if value}


@lru_cache(maxsize=64)  # scope shapes: a handful
def _in_scope(shape: ScopeShape) -> Select[Any]:
    """The active customers a scope shape shows; executed with the caller's scope_params."""
    return select(*CUSTOMER_COLUMNS).where(
        _c.active, scope_clause(shape, _c.owner_id, _c.org_path, shared_with_caller(_c.id))
    )


def _filtered(shape: ScopeShape, filters: tuple[str, ...]) -> Select[Any]:
    return _in_scope(shape).where(*(_BOUND_FILTERS[name] for name in filters))


def _ordered(query: Select[Any], sort: str) -> KeysetStatements:
    column, descending = LIST_ORDERS[sort or "newest"]
    if column is _c.id:
        return keyset_statements(query, _c.id, descending=descending)
    return keyset_statements(query, _c.id, sort_column=column, descending=descending)


@lru_cache(maxsize=512)  # scope shapes x 3 orders x 16 combinations of bound filters, at most
def _listing(shape: ScopeShape, filters: tuple[str, ...], sort: str) -> KeysetStatements:
    return _ordered(_filtered(shape, filters), sort)


async def customers_page(
    session: Reads,
    principal: Principal,
    where: CustomerFilter,
    *,
    sort: str,
    page_size: int,
    cursor: str,
    search_candidates: int,
) -> tuple[list[Customer], str]:
    """A page of the active customers the caller's scope shows, in the `sort` order of LIST_ORDERS."""
    shape = scope_shape(principal, "customers:read")
    bound = where.bound()
    filters = tuple(bound)
    params = {**scope_params(principal), **bound}
    clauses = [
        *await filter_clauses(session, CUSTOMER_FIELDS, _c.id, where.custom_fields or {}),
        *_unbound_clauses(where),
    ]
    narrowed = None
    if where.name_query is not None:
        narrowed = await narrowed_by_name(session, where.name_query, search_candidates)
        params.update(narrowed.params)
    if narrowed is not None and narrowed.shape is not None and not clauses:  # a search built once per shape
        statements = _searching(shape, filters, sort, narrowed.shape)
    elif clauses or narrowed is not None:  # built for this call: SQLAlchemy's cache compiles it
        query = _filtered(shape, filters).where(*clauses)
        if narrowed is not None:
            query = narrowed.apply(query)
        return _customers(await keyset_rows(session, _ordered(query, sort), params, page_size, cursor, execute_rows))
    else:
        statements = _listing(shape, filters, sort)
    return await _built_once_page(session, statements, params, page_size, cursor)


@lru_cache(maxsize=512)  # scope shapes x orders x bound filters x a dozen search shapes, the used ones
def _searching(shape: ScopeShape, filters: tuple[str, ...], sort: str, search: SearchShape) -> KeysetStatements:
    return _ordered(narrowing(search)(_filtered(shape, filters)), sort)


def _unbound_clauses(where: CustomerFilter) -> list[ColumnElement[bool]]:
    clauses = []
    if where.tag:
        # Tags are stored normalised as a JSON array; the JSON-encoded tag is a portable needle.
        clauses.append(cast(_c.tags, String).contains(json.dumps(where.tag), autoescape=True))
    if where.unit_id:
        clauses.append(_c.org_path.contains(f"/{where.unit_id}/", autoescape=True))
    return clauses


def _customers(page: Page[Sequence[Any]]) -> tuple[list[Customer], str]:
    return [customer_from_record(record) for record in page.items], page.next_token


async def _built_once_page(
    session: Reads, statements: KeysetStatements, params: Mapping[str, Any], page_size: int, cursor: str
) -> tuple[list[Customer], str]:
    """A page of statements built once: run through the driver, and remembered on SQLite."""
    if _remembers(session):
        return _remembered(await keyset_rows(session, statements, params, page_size, cursor, _remembered_rows))
    return _customers(await keyset_rows(session, statements, params, page_size, cursor, driver_rows))


def _remembers(session: Reads) -> bool:
    """Whether the page memo serves this read: SQLite's raw rows are tuples of plain values (a
    PostgreSQL record holds decoded JSON, which no memo can key by)."""
    return isinstance(session, AsyncConnection) and on_sqlite(session)


async def _remembered_rows(
    session: Reads, statement: Select[Any], params: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    return await driver_rows(session, statement, params, _page_rows)


def _remembered(page: Page[Sequence[Any]]) -> tuple[list[Customer], str]:
    """The page's customers: the memo's for its rows (a row SQLAlchemy read instead, when SQLite was
    busy, is a new object: its customer is built and remembered until it is pushed out)."""
    return SharedCustomers(_page_customers(record) for record in page.items), page.next_token


@lru_cache(maxsize=256)  # scope shapes x whether a channel, a tier is given
def _partners(shape: ScopeShape, channel: bool, tier: bool) -> KeysetStatements:
    query = _in_scope(shape).where(_c.partner_channel != "")
    if channel:
        query = query.where(_c.partner_channel == bindparam("partner_channel"))
    if tier:
        query = query.where(_c.partner_tier == bindparam("partner_tier"))
    return keyset_statements(query, _c.id)


async def partners_page(
    session: Reads, principal: Principal, *, channel: str, tier: str, page_size: int, cursor: str
) -> tuple[list[Customer], str]:
    """Partners in the caller's customer scope (of the channel and tier, when given), newest first."""
    statements = _partners(scope_shape(principal, "customers:read"), bool(channel), bool(tier))
    params = {**scope_params(principal), "partner_channel": channel, "partner_tier": tier}
    return await _built_once_page(session, statements, params, page_size, cursor)


_POOL = keyset_statements(select(*CUSTOMER_COLUMNS).where(_c.active, _c.owner_id.is_(None)), _c.id)


async def pool_page(session: Reads, page_size: int, cursor: str) -> tuple[list[Customer], str]:
    """The customers in the public pool, newest by id first."""
    return await _built_once_page(session, _POOL, {}, page_size, cursor)
