"""Name search keys: every name containing a query carries the query's keys (so the index never
misses a match), and short queries fall back to prefixes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_customers.domain.dedup import normalise_name
from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.domain.search import MAX_QUERY_KEYS, MatchMode, index_keys, parse_query


@pytest.mark.parametrize(
    ("query", "mode", "text"),
    [
        ("华为", MatchMode.CONTAINS, "华为"),
        ("上海华为技术有限公司", MatchMode.CONTAINS, "上海华为技术"),
        ("Acme Nova", MatchMode.CONTAINS, "acmenova"),
        ("ＡＢＣ", MatchMode.CONTAINS, "abc"),
        ("HP", MatchMode.PREFIX, "hp"),
        ("3M", MatchMode.PREFIX, "3m"),
        ("华", MatchMode.PREFIX, "华"),
        ("ab华", MatchMode.PREFIX, "ab华"),  # no whole gram in any run
    ],
)
def test_query_modes(query: str, mode: MatchMode, text: str) -> None:
    parsed = parse_query(query)
    assert (parsed.mode, parsed.text) == (mode, text)


def test_long_queries_use_a_few_spread_keys() -> None:
    parsed = parse_query("北京市海淀区中关村软件园信息技术服务")
    assert 1 < len(parsed.keys) <= MAX_QUERY_KEYS
    assert parsed.keys[0] == "s:北京" and len(set(parsed.keys)) == len(parsed.keys)


@pytest.mark.parametrize("query", ["（）", "  -- ", "华" * 101])
def test_unsearchable_queries_name_the_parameter(query: str) -> None:
    with pytest.raises(ValidationFailed) as error:
        parse_query(query)
    assert error.value.field == "query"


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("上海华为技术有限公司", "为技"),
        ("北京小米科技有限责任公司", "小米科技"),
        ("Acme Nova Trading Co., Ltd.", "ova tra"),
        ("中国平安保险(集团)股份有限公司", "平安保险"),
        ("3M China Ltd", "3m"),
        ("HP Inc.", "h"),
        ("ABC华为DEF", "bc华为de"),
    ],
)
def test_a_matching_name_carries_every_query_key(name: str, query: str) -> None:
    normalised, parsed = normalise_name(name), parse_query(query)
    assert set(parsed.keys) <= index_keys(normalised)
    assert (parsed.text in normalised) if parsed.mode is MatchMode.CONTAINS else normalised.startswith(parsed.text)


_CHARS = st.sampled_from(list("华为科技小米上海abcxyz0123"))


@given(st.text(_CHARS, min_size=1, max_size=12), st.integers(0, 11), st.integers(1, 8))
def test_any_substring_query_finds_its_name(raw: str, start: int, length: int) -> None:
    """No false negatives: a query cut from a name carries only keys that name is indexed under."""
    name = normalise_name(raw)
    query = name[start : start + length]
    if not query:
        return
    parsed = parse_query(query)
    if parsed.mode is MatchMode.PREFIX and not name.startswith(parsed.text):
        return  # a short query matches prefixes only, by design
    assert set(parsed.keys) <= index_keys(name)
