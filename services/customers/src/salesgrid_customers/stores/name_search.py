"""The name search behind the customer lists: names carrying every key of the query (the
`customer_name_keys` index), confirmed by a text test on the normalised name.

First the key index alone: the newest `search_candidates` customers holding all the keys
(index-only joins, no customer rows read). Fewer than that is the complete set, and the page is
read by id from it whatever its order or scope, so a rare combination of common grams (医药物流)
costs its posting lists and no more. As many means the words are common: the page is then read
newest first, joined to one key, where matches are dense.

Two ways to run it, with the same results (the service tests run the search on both databases,
each branch; test_customers_name_search_bound.py compares the two ways page by page):

- PostgreSQL: the keys as literals, so the planner sees each key's own frequency (a generic plan
  for parameters merged common posting lists about eight times slower); statements built per call.
- SQLite, whose planner does not plan by the values: statements built once per shape with every
  value bound -- the keys, the text pattern, the candidate ids as a fixed number of parameters
  (a power of two, the last id repeated) -- and run on the driver connection (driver_rows). Built
  per call and expanded by SQLAlchemy, a search cost about twice a plain list page in the service."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, String, and_, bindparam, select

from salesgrid_common.db import Reads, on_sqlite
from salesgrid_customers import models
from salesgrid_customers.domain.search import MatchMode, NameQuery
from salesgrid_customers.stores.customer_records import CUSTOMERS
from salesgrid_common.driver_rows import driver_rows

_c = CUSTOMERS.c
_NAME_KEYS = models.CustomerNameKey.__table__
_ESCAPE = "/"


SearchShape = tuple[str, int]  # ("ids", parameter slots) or ("dense", 0): a bound narrowing's statement


@dataclass(frozen=True)
class Narrowed:
    """A list query narrowed to a name search: `shape` names a narrowing built once
    (`narrowing(shape)`, run with `params` added to the query's own); without one, `narrow` is
    this search's own."""

    params: Mapping[str, Any]
    shape: SearchShape | None = None
    narrow: Callable[[Select[Any]], Select[Any]] | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        """`query` narrowed (with `params` to run it)."""
        if self.narrow is not None:
            return self.narrow(query)
        assert self.shape is not None
        return narrowing(self.shape)(query)


def uses_bound_search(session: Reads) -> bool:
    """Whether this connection's searches bind their values (SQLite) or take literal keys."""
    return on_sqlite(session)


def like_pattern(name_query: NameQuery) -> str:
    """The LIKE pattern of the query's text (escaped as SQLAlchemy's autoescape escapes)."""
    text = name_query.text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    return f"%{text}%" if name_query.mode is MatchMode.CONTAINS else f"{text}%"


def _confirm(pattern: Any) -> Any:
    return _c.normalised_name.like(pattern, escape=_ESCAPE)


def _candidates(keys: Sequence[Any]) -> Select[Any]:
    """The ids of the customers holding every one of `keys` (bound or literal), newest first."""
    postings = [_NAME_KEYS.alias(f"key_{n}") for n in range(len(keys))]
    first = postings[0]
    query = select(first.c.customer_id).where(first.c.key == keys[0])
    for keyed, key in zip(postings[1:], keys[1:], strict=True):
        query = query.join(keyed, and_(keyed.c.customer_id == first.c.customer_id, keyed.c.key == key))
    return query.order_by(first.c.customer_id.desc())


@lru_cache(maxsize=32)  # key counts: a query has a handful of keys
def _bound_candidates(key_count: int) -> Select[Any]:
    keys = [bindparam(f"search_key_{n}", type_=String) for n in range(key_count)]
    return _candidates(keys).limit(bindparam("search_candidates"))


def _among(ids: Any, pattern: Any) -> Callable[[Select[Any]], Select[Any]]:
    """Narrowed to the complete candidate set `ids`, confirmed by `pattern`."""
    return lambda query: query.where(_c.id.in_(ids), _confirm(pattern))


def _through_key(key: Any, pattern: Any) -> Callable[[Select[Any]], Select[Any]]:
    """Narrowed to the customers holding `key` (words so common the candidates were cut off),
    confirmed by `pattern`."""
    keyed = _NAME_KEYS
    return lambda query: query.join(keyed, and_(keyed.c.customer_id == _c.id, keyed.c.key == key)).where(
        _confirm(pattern)
    )


def _id_slots(count: int) -> int:
    """Parameters for `count` candidate ids: the next power of two (a dozen statement shapes)."""
    return 1 << max(count - 1, 0).bit_length()


async def narrowed_by_name(session: Reads, name_query: NameQuery, search_candidates: int) -> Narrowed:
    """The search's narrowing of a list query (bound on SQLite, literal keys on PostgreSQL)."""
    if not uses_bound_search(session):
        literal_keys = [bindparam(None, key, type_=String, literal_execute=True) for key in name_query.keys]
        ids = list((await session.scalars(_candidates(literal_keys).limit(search_candidates))).all())
        pattern = like_pattern(name_query)
        if len(ids) < search_candidates:
            return Narrowed({}, narrow=_among(ids, pattern))
        return Narrowed({}, narrow=_through_key(literal_keys[0], pattern))
    keys = {f"search_key_{n}": key for n, key in enumerate(name_query.keys)}
    found = await driver_rows(session, _bound_candidates(len(keys)), {**keys, "search_candidates": search_candidates})
    ids = [row[0] for row in found]
    params: dict[str, Any] = {"search_pattern": like_pattern(name_query)}
    if len(ids) < search_candidates:
        slots = _id_slots(len(ids))
        params.update({f"search_id_{n}": ids[min(n, len(ids) - 1)] if ids else "" for n in range(slots)})
        return Narrowed(params, shape=("ids", slots))
    params["search_key_0"] = keys["search_key_0"]
    return Narrowed(params, shape=("dense", 0))


def narrowing(shape: SearchShape) -> Callable[[Select[Any]], Select[Any]]:
    """The bound narrowing of `shape`: the candidate ids' slots, or the first key's postings."""
    pattern = bindparam("search_pattern", type_=String)
    kind, slots = shape
    if kind == "ids":
        return _among([bindparam(f"search_id_{n}", type_=String) for n in range(slots)], pattern)
    return _through_key(bindparam("search_key_0", type_=String), pattern)
