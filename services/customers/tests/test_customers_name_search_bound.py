"""A name search on SQLite runs statements built once per shape, with its keys, text pattern and
candidate ids bound (stores.name_search), on the driver: it pages through exactly what the
literal-key statements built per call (PostgreSQL's way) page through, for every scope shape,
candidate count (padded to a power of two), order, page size and both ways of reading a page (from
the complete candidate set, and newest first through one key)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_customers_stores import customer

from salesgrid_common.db import create_engine, create_reader, reading, session_factory
from salesgrid_dev.migrated import migrate
from salesgrid_dev.testing import principal
from salesgrid_customers.app import MIGRATIONS
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.search import MatchMode, NameQuery, parse_query
from salesgrid_customers.stores import customer_lists, name_search
from salesgrid_customers.stores.customer_lists import LIST_ORDERS, CustomerFilter, customers_page
from salesgrid_customers.stores.customers import insert_customers

CALLERS = [
    principal("rep-a", "/c/sz/", "sz", {"customers:read": "own"}),
    principal("mgr", "/c/sz/", "sz", {"customers:read": "subtree"}),
    principal("admin", "/c/", "c", {"customers:read": "all"}),
]
QUERIES = ["华为", "深圳华为", "华为技术", "科技", "有限", "huawei", "hua", "华", "深", "无此名称", "100%_"]


def names() -> list[Customer]:
    """Names sharing grams in many combinations, some under another owner or unit."""
    out = []
    for n in range(37):
        city = ("深圳", "上海", "北京")[n % 3]
        kind = ("华为技术", "华为终端", "科技发展", "100%_纯净")[n % 4]
        owner, path = ("rep-a", "/c/sz/") if n % 5 else ("rep-b", "/c/sh/")
        out.append(customer(f"c-{n:03d}", f"{city}{kind}{n:02d}有限公司", owner, path))
    out.append(customer("c-900", "Huawei Technologies Co., Ltd.", "rep-a"))
    return out


async def pages(reads, caller, query: str, sort: str, size: int, candidates: int) -> list[list[str]]:  # type: ignore[no-untyped-def]
    where = CustomerFilter(name_query=parse_query(query))
    out, cursor = [], ""
    while True:
        page, cursor = await customers_page(
            reads, caller, where, sort=sort, page_size=size, cursor=cursor, search_candidates=candidates
        )
        out.append([c.id for c in page])
        if not cursor:
            return out


async def test_bound_searches_page_through_what_literal_ones_do(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'search.db'}"
    await asyncio.to_thread(migrate, MIGRATIONS, url)
    engine = create_engine(url)
    reader = create_reader(url, engine)
    shapes: set[tuple[str, int]] = set()
    real_narrowed = name_search.narrowed_by_name

    async def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        narrowed = await real_narrowed(*args, **kwargs)
        if narrowed.shape is not None:
            shapes.add(narrowed.shape)
        return narrowed

    monkeypatch.setattr(customer_lists, "narrowed_by_name", recording)
    try:
        async with session_factory(engine)() as session, session.begin():
            await insert_customers(session, names(), [])
        compared = 0
        async with reading(session_factory(reader)) as reads:
            for caller in CALLERS:
                for query in QUERIES:
                    for candidates in (2000, 3):  # the complete set; the dense way (3 or more hold the keys)
                        for sort in LIST_ORDERS:
                            for size in (4, 50):
                                bound = await pages(reads, caller, query, sort, size, candidates)
                                with monkeypatch.context() as literal:
                                    literal.setattr(name_search, "uses_bound_search", lambda session: False)
                                    expected = await pages(reads, caller, query, sort, size, candidates)
                                assert bound == expected, (caller.subject_id, query, candidates, sort, size)
                                compared += sum(len(page) for page in bound)
        assert compared > 1000
        assert ("dense", 0) in shapes and len({slots for kind, slots in shapes if kind == "ids"}) >= 4
    finally:
        await reader.dispose()
        await engine.dispose()


@pytest.mark.parametrize("count, slots", [(0, 1), (1, 1), (2, 2), (3, 4), (16, 16), (17, 32), (2000, 2048)])
def test_candidate_ids_take_the_next_power_of_two_of_parameters(count: int, slots: int) -> None:
    assert name_search._id_slots(count) == slots


def test_the_like_pattern_escapes_as_autoescape_does() -> None:
    text = "a/b%c_d"
    assert name_search.like_pattern(NameQuery(text, MatchMode.CONTAINS, ())) == "%a//b/%c/_d%"
    assert name_search.like_pattern(NameQuery(text, MatchMode.PREFIX, ())) == "a//b/%c/_d%"
