"""json_values.json_loads: json.loads's values, orjson's speed; what orjson refuses goes to
json.loads. And PostgreSQL engines read JSON columns through it."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select

from salesgrid_common.db import create_engine
from salesgrid_common.json_values import json_loads
from salesgrid_dev.processes import ThrowawayPostgres

AGREED = [
    "[]",
    "{}",
    '["vip", "金融"]',
    '{"a": "12.50", "b": true, "c": ["x"], "d": {"amount": "1", "currency": "CNY"}, "e": null}',
    '{"n": 12, "f": 1.5, "big": 9007199254740993, "neg": -3, "exp": 1e300, "tiny": 5e-324}',
    "[18446744073709551615, -9223372036854775808, -0, -0.0, 0.1000000000000000055]",
    '{"k": 1, "k": 2}',  # a repeated key: the last one, both ways
    '"\\u00e9\\ud83d\\ude00 \\n"',
]


@pytest.mark.parametrize("text", AGREED)
def test_the_values_and_their_types_are_json_loads(text: str) -> None:
    ours, theirs = json_loads(text), json.loads(text)
    assert ours == theirs and type(ours) is type(theirs)
    assert json.dumps(ours) == json.dumps(theirs)  # key order and float repr too
    assert json_loads(text.encode()) == theirs


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "[Infinity]",
        "1e400",
        '"\\ud800"',
        "123456789012345678901234567890",
        '{"n": 18446744073709551616}',  # 2**64: orjson would read a float
        "[-9223372036854775809]",
        '{"id": "12345678901234567890123"}',
    ],
)
def test_what_orjson_refuses_is_read_by_json_loads(text: str) -> None:
    ours, theirs = json_loads(text), json.loads(text)
    if isinstance(theirs, float) and math.isnan(theirs):
        assert math.isnan(ours)
    else:
        assert ours == theirs and type(ours) is type(theirs)


def test_bad_json_is_still_an_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        json_loads("{not json")


async def test_postgres_reads_json_columns_through_it(postgres: ThrowawayPostgres) -> None:
    engine = create_engine(postgres.create_database("json_values"))
    table = Table("docs", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))
    value = {"tags": ["vip", "金融"], "amount": "12.50", "n": 3, "ok": True, "none": None}
    try:
        assert engine.sync_engine.dialect._json_deserializer is json_loads  # type: ignore[attr-defined]
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            await connection.execute(insert(table), {"id": 1, "doc": value})
        async with engine.connect() as connection:
            assert (await connection.execute(select(table.c.doc))).scalar_one() == value
    finally:
        await engine.dispose()
