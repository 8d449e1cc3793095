"""rest/render.py's compiled converters render exactly what the generic conversion
(salesgrid_common.protojson.message_to_api_dict, itself checked against json_format) renders:
the same JSON bytes, keys in the same order, for every message of every Salesgrid API filled at
random (unset and default fields, enums incl. numbers without a name, Timestamps with 0, 3, 6 and
9 fractional digits and at the range's ends, Structs with nested values, maps, repeated and
nested messages, float and 64-bit edge values), and the same refusal where json_format refuses."""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesgrid
from salesgrid.customers.v1 import customers_pb2
from salesgrid_common.protojson import message_to_api_dict
from salesgrid_gateway.rest import render
from salesgrid_gateway.rest.render import to_api_dict
from salesgrid_gateway.web import dumps


def _message_classes() -> list[type[Message]]:
    found: dict[str, type[Message]] = {}
    for base in map(Path, salesgrid.__path__):
        for path in sorted(base.rglob("*_pb2.py")):
            module = importlib.import_module(".".join(("salesgrid", *path.relative_to(base).with_suffix("").parts)))
            pending = [(d, module) for d in module.DESCRIPTOR.message_types_by_name.values()]
            while pending:
                descriptor, holder = pending.pop()
                cls = getattr(holder, descriptor.name)
                if not descriptor.GetOptions().map_entry:
                    found[descriptor.full_name] = cls
                pending += [(nested, cls) for nested in descriptor.nested_types]
    return [found[name] for name in sorted(found)]


MESSAGES = _message_classes()
BITS = {
    FieldDescriptor.TYPE_INT32: (True, 32),
    FieldDescriptor.TYPE_SINT32: (True, 32),
    FieldDescriptor.TYPE_SFIXED32: (True, 32),
    FieldDescriptor.TYPE_UINT32: (False, 32),
    FieldDescriptor.TYPE_FIXED32: (False, 32),
    FieldDescriptor.TYPE_INT64: (True, 64),
    FieldDescriptor.TYPE_SINT64: (True, 64),
    FieldDescriptor.TYPE_SFIXED64: (True, 64),
    FieldDescriptor.TYPE_UINT64: (False, 64),
    FieldDescriptor.TYPE_FIXED64: (False, 64),
}
JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.floats(allow_nan=False, allow_infinity=False))
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _scalar(field: FieldDescriptor, draw: Any) -> Any:
    kind = field.type
    if kind in BITS:
        signed, bits = BITS[kind]
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        return draw(st.sampled_from([0, 1, low, high]) | st.integers(low, high))
    if kind == FieldDescriptor.TYPE_BOOL:
        return draw(st.booleans())
    if kind == FieldDescriptor.TYPE_STRING:
        return draw(st.text(max_size=8))
    if kind == FieldDescriptor.TYPE_BYTES:
        return draw(st.binary(max_size=8))
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return draw(st.floats())
    if kind == FieldDescriptor.TYPE_FLOAT:
        return draw(st.floats(width=32))
    assert kind == FieldDescriptor.TYPE_ENUM and field.enum_type is not None
    return draw(st.sampled_from([v.number for v in field.enum_type.values]) | st.integers(-5, 1000))


def _fill(message: Message, draw: Any, depth: int) -> None:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.seconds = draw(
            st.sampled_from([-62135596800, 0, 253402300799]) | st.integers(-62135596800, 253402300799)
        )
        message.nanos = draw(st.sampled_from([0, 1_000_000, 120_000_000, 1000, 123_456_000, 1, 999_999_999]))
        return
    if name == "google.protobuf.Struct":
        message.update(draw(st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3)))  # type: ignore[attr-defined]
        return
    if name.startswith("google.protobuf.") and name not in ("google.protobuf.Duration",):
        return  # Value, ListValue, Any, wrappers: the generic conversion's own (checked in libs/common)
    for field in message.DESCRIPTOR.fields:
        if draw(st.integers(0, 3)) == 0:
            continue  # some fields left unset: defaults, absent messages and optionals
        target = getattr(message, field.name)
        entry = field.message_type
        if entry is not None and entry.GetOptions().map_entry:
            for _ in range(draw(st.integers(0, 2))):
                key = _scalar(entry.fields_by_name["key"], draw)
                if entry.fields_by_name["value"].message_type is None:
                    target[key] = _scalar(entry.fields_by_name["value"], draw)
                elif depth < 3:
                    _fill(target[key], draw, depth + 1)
        elif entry is not None:
            if depth >= 3:
                continue
            for item in [target.add() for _ in range(draw(st.integers(0, 2)))] if field.is_repeated else [target]:
                _fill(item, draw, depth + 1)
                item.SetInParent()
        elif field.is_repeated:
            target.extend(_scalar(field, draw) for _ in range(draw(st.integers(0, 2))))
        else:
            setattr(message, field.name, _scalar(field, draw))


def _rendered(value: Any) -> tuple[bytes, bytes]:
    """The API's bytes (keys sorted) and the keys' order as produced."""
    return dumps(value), orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def test_every_api_message_is_compared() -> None:
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_same_json_as_the_generic_conversion(cls: type[Message], data: st.DataObject) -> None:
    message = cls()
    _fill(message, data.draw, 0)
    assert _rendered(to_api_dict(message)) == _rendered(message_to_api_dict(message))


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
def test_an_empty_message_renders_its_defaults_alike(cls: type[Message]) -> None:
    assert _rendered(to_api_dict(cls())) == _rendered(message_to_api_dict(cls()))


def test_a_page_of_customers_renders_alike() -> None:
    reply = customers_pb2.ListCustomersResponse(next_cursor="n", total=2**40)
    for number in range(20):
        customer = reply.customers.add(id=f"c{number}", legal_name="客户\u00e9\U0001f600", version=number, tags=["a"])
        customer.created_at.FromJsonString("2026-12-01T08:00:00.123456Z")
        customer.updated_at.FromJsonString("0001-01-01T00:00:00Z")
        customer.custom_fields.update({"n": 3, "nested": {"list": [1, "x", None, True, {}]}, "none": None})
        if number % 2:
            customer.address.SetInParent()
    assert _rendered(to_api_dict(reply)) == _rendered(message_to_api_dict(reply))
    assert to_api_dict(reply)["customers"][0]["created_at"] == "2026-12-01T08:00:00.123456Z"
    assert to_api_dict(reply)["total"] == 2**40


@pytest.mark.parametrize("seconds, nanos", [(253402300800, 0), (-62135596801, 0), (0, -1), (0, 1_000_000_000)])
def test_an_invalid_timestamp_is_refused_alike(seconds: int, nanos: int) -> None:
    customer = customers_pb2.Customer(created_at=Timestamp(seconds=seconds, nanos=nanos))
    with pytest.raises(ValueError) as generic:
        message_to_api_dict(customer)
    with pytest.raises(ValueError) as compiled:
        to_api_dict(customer)
    assert str(compiled.value) == str(generic.value)


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_struct_number_json_cannot_hold_is_refused_alike(number: float) -> None:
    fields = Struct()
    fields.update({"x": [number]})
    customer = customers_pb2.Customer(custom_fields=fields)
    with pytest.raises(ValueError) as generic:
        message_to_api_dict(customer)
    with pytest.raises(ValueError) as compiled:
        to_api_dict(customer)
    assert type(compiled.value) is type(generic.value)


def test_timestamps_render_as_json_format_writes_them_across_the_whole_range() -> None:
    """rest/render.timestamp (an hour's text kept, minutes and seconds from a table) against
    Timestamp.ToJsonString: both ends of the range (years 0001 and 9999), hour and day boundaries,
    the epoch, and a sweep over the range, with every kind of fraction."""
    low, high = -62135596800, 253402300799
    edges = [low, low + 1, low + 3599, low + 3600, low + 86399, -3601, -3600, -1, 0, 1, 3599, 3600]
    edges += [high - 86400, high - 3600, high - 3599, high - 1, high, 951782400, 951868799]  # 2000-02-29
    sweep = list(range(low, high, (high - low) // 20011))
    for seconds in edges + sweep:
        for nanos in (0, 1, 999, 1000, 1_000_000, 120_000_000, 123_456_000, 999_999_999):
            value = Timestamp(seconds=seconds, nanos=nanos)
            assert render.timestamp(value) == value.ToJsonString(), (seconds, nanos)
    assert len(render._hours) <= render.MAX_HOURS
