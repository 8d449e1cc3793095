"""Conversions between Python values and protobuf well-known types, shared by all servicers.

Computed from the difference to the epoch instead of protobuf's FromDatetime/ToDatetime: the same
values (tests/test_common_protos.py compares them), about six times cheaper, and a page of twenty
customers converts forty of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    """A protobuf Timestamp for an aware datetime (None stays None: the field is left unset)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.astimezone(UTC)  # a naive value is local time, as datetime.astimezone reads it
    since = value - EPOCH
    return Timestamp(seconds=since.days * 86400 + since.seconds, nanos=since.microseconds * 1000)


def set_timestamp(target: Timestamp, value: datetime) -> None:
    """to_timestamp written into a message's own Timestamp field (`value` aware): no Timestamp made
    and copied in (a page of customers sets four per customer)."""
    since = value - EPOCH
    target.seconds, target.nanos = since.days * 86400 + since.seconds, since.microseconds * 1000


def from_timestamp(stamp: Timestamp) -> datetime:
    """The aware UTC datetime of a Timestamp (nanoseconds truncated to microseconds)."""
    return EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
