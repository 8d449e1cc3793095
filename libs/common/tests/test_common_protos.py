"""The timestamp conversions give exactly what protobuf's own FromDatetime/ToDatetime give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from salesgrid_common.protos import from_timestamp, set_timestamp, to_timestamp

zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])
moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=zones)


@given(moments)
def test_to_timestamp_matches_protobuf(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    assert to_timestamp(value) == expected


@given(st.integers(min_value=-62135596800, max_value=253402300799), st.integers(min_value=0, max_value=999_999_999))
def test_from_timestamp_matches_protobuf(seconds: int, nanos: int) -> None:
    stamp = Timestamp(seconds=seconds, nanos=nanos)
    assert from_timestamp(stamp) == stamp.ToDatetime(tzinfo=UTC)
    assert from_timestamp(stamp).tzinfo is UTC


@given(moments)
def test_set_timestamp_writes_what_protobuf_would(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    target = Timestamp(seconds=1, nanos=5)  # overwritten whole
    set_timestamp(target, value)
    assert target == expected


def test_none_stays_unset() -> None:
    assert to_timestamp(None) is None
