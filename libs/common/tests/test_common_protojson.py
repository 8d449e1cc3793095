"""protojson.message_to_dict gives exactly json_format's output (preserving field names, fields
without presence always printed) for every message of every Salesgrid API and event, filled
with random values by hypothesis, including unset optional fields, maps, repeated and nested
messages, well-known types and the float/int64 edge values."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import salesgrid
from salesgrid_common.protojson import message_to_api_dict, message_to_dict


def _all_message_classes() -> list[type[Message]]:
    found: dict[str, type[Message]] = {}
    names = sorted(
        {
            ".".join(("salesgrid", *path.relative_to(base).with_suffix("").parts))
            for base in map(Path, salesgrid.__path__)
            for path in base.rglob("*_pb2.py")
        }
    )
    for name in names:
        module = importlib.import_module(name)

        def collect(descriptor: Descriptor, holder: Any) -> None:
            cls = getattr(holder, descriptor.name)
            if not descriptor.GetOptions().map_entry:
                found[descriptor.full_name] = cls
            for nested in descriptor.nested_types:
                collect(nested, cls)

        for descriptor in module.DESCRIPTOR.message_types_by_name.values():
            collect(descriptor, module)
    return [found[name] for name in sorted(found)]


MESSAGES = _all_message_classes()
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _scalar(field: FieldDescriptor, draw: Any) -> Any:
    kind = field.type
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return draw(st.one_of(st.sampled_from([0, low, high]), st.integers(low, high)))
    if kind == FieldDescriptor.TYPE_BOOL:
        return draw(st.booleans())
    if kind == FieldDescriptor.TYPE_STRING:
        return draw(st.text(max_size=8))
    if kind == FieldDescriptor.TYPE_BYTES:
        return draw(st.binary(max_size=8))
    if kind == FieldDescriptor.TYPE_DOUBLE:
        return draw(st.floats(allow_nan=True, allow_infinity=True))
    if kind == FieldDescriptor.TYPE_FLOAT:
        return draw(st.floats(width=32, allow_nan=True, allow_infinity=True))
    if kind == FieldDescriptor.TYPE_ENUM:
        return draw(st.sampled_from([v.number for v in field.enum_type.values]))
    raise AssertionError(kind)


def _fill(message: Message, draw: Any, depth: int) -> None:
    for field in message.DESCRIPTOR.fields:
        if field.containing_oneof is None and draw(st.integers(0, 3)) == 0:
            continue  # leave some fields unset (defaults / absent)
        if field.containing_oneof is not None and draw(st.booleans()):
            continue
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            for _ in range(draw(st.integers(0, 2))):
                key = _scalar(key_field, draw)
                if value_field.message_type is not None:
                    if depth < 3:
                        _fill(target[key], draw, depth + 1)
                else:
                    target[key] = _scalar(value_field, draw)
        elif field.message_type is not None:
            if depth >= 3 or field.message_type.full_name in (
                "google.protobuf.Any",
                "google.protobuf.Struct",
                "google.protobuf.Value",
                "google.protobuf.ListValue",
            ):
                continue
            if field.is_repeated:
                for _ in range(draw(st.integers(0, 2))):
                    _fill_known(target.add(), draw, depth + 1)
            else:
                _fill_known(target, draw, depth + 1)
                if not target.ListFields():
                    target.SetInParent()
        elif field.is_repeated:
            target.extend(_scalar(field, draw) for _ in range(draw(st.integers(0, 2))))
        else:
            setattr(message, field.name, _scalar(field, draw))


def _fill_known(message: Message, draw: Any, depth: int) -> None:
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        message.seconds = draw(st.integers(-62135596800, 253402300799))
        message.nanos = draw(st.sampled_from([0, 1000, 123456789]))
    elif name == "google.protobuf.Duration":
        message.seconds = draw(st.integers(0, 10**9))
    else:
        _fill(message, draw, depth)


@st.composite
def filled(draw: Any, cls: type[Message]) -> Message:
    message = cls()
    _fill_known(message, draw, 0)
    return message


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return "nan-float"
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def test_there_are_messages_to_compare() -> None:
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.DESCRIPTOR.full_name)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_same_output_as_json_format(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(filled(cls))
    expected = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    assert _normalise(message_to_dict(message)) == _normalise(expected)


def _int64_as_numbers(descriptor: Descriptor, value: dict[str, Any]) -> dict[str, Any]:
    """json_format's dict with every (nested) 64-bit integer field turned back into a number."""
    if descriptor.full_name.startswith("google.protobuf."):
        return value
    out = dict(value)
    for field in descriptor.fields:
        if field.name not in out:
            continue
        item = out[field.name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            out[field.name] = {k: _one(value_field, v) for k, v in item.items()}
        elif field.is_repeated:
            out[field.name] = [_one(field, v) for v in item]
        else:
            out[field.name] = _one(field, item)
    return out


def _one(field: FieldDescriptor, value: Any) -> Any:
    if field.message_type is not None:
        return _int64_as_numbers(field.message_type, value)
    if field.type in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED64,
    ):
        return int(value)
    return value


@pytest.mark.parametrize("cls", MESSAGES[::7], ids=lambda c: c.DESCRIPTOR.full_name)
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_api_dict_has_int64_as_numbers(cls: type[Message], data: st.DataObject) -> None:
    message = data.draw(filled(cls))
    expected = _int64_as_numbers(cls.DESCRIPTOR, message_to_dict(message))
    assert _normalise(message_to_api_dict(message)) == _normalise(expected)


def test_api_dict_int64_is_a_number() -> None:
    from salesgrid.identity.v1 import identity_pb2

    pair = identity_pb2.TokenPair(access_token="a", expires_in=900)
    assert message_to_api_dict(pair)["expires_in"] == 900 and message_to_dict(pair)["expires_in"] == "900"
