"""Request messages from JSON values, the common shapes without json_format.

`json_format.ParseDict` re-reads the message's descriptor on every call (it builds a table of
its fields' JSON names per message). Most requests are a few strings, integers, booleans, enum
names, RFC 3339 Timestamps, lists of strings and string maps: `build` sets those directly, from
a table built once per message type, and answers None for anything else (a nested object, a
Struct, another map, a float, a null, a camelCase name, a oneof member, a value of another JSON
type, a value the field refuses), so that the caller parses the whole body with ParseDict, which
also names the problem. For what it accepts, the message is the one ParseDict builds
(tests/test_build.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

Setter = Callable[[Any, str, Any], bool]  # (message, field name, JSON value) -> set?
_UNPAIRED_SURROGATE = json_format._UNPAIRED_SURROGATE_PATTERN  # what ParseDict refuses in strings
_INTEGERS = frozenset(
    {
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_SFIXED32,
        FieldDescriptor.TYPE_SFIXED64,
    }
)
_tables: dict[str, dict[str, Setter]] = {}  # message full name -> field name -> setter (bounded: the protos' types)


def build(message_type: type[Message], values: dict[str, Any]) -> Message | None:
    """`message_type` with `values` set, or None: ParseDict must parse them."""
    name = message_type.DESCRIPTOR.full_name
    table = _tables.get(name)
    if table is None:
        table = _tables[name] = _table(message_type.DESCRIPTOR)
    message = message_type()
    try:
        for key, value in values.items():
            setter = table.get(key)
            if setter is None or not setter(message, key, value):
                return None
    except (ValueError, TypeError):  # out of range, a malformed Timestamp: ParseDict says which
        return None
    return message


def _string(message: Any, name: str, value: Any) -> bool:
    if type(value) is not str or _UNPAIRED_SURROGATE.search(value):
        return False
    setattr(message, name, value)
    return True


def _strings(message: Any, name: str, value: Any) -> bool:
    if type(value) is not list or not all(type(item) is str for item in value):
        return False
    if any(_UNPAIRED_SURROGATE.search(item) for item in value):
        return False
    getattr(message, name).extend(value)
    return True


def _string_map(message: Any, name: str, value: Any) -> bool:
    if type(value) is not dict:
        return False
    for key, item in value.items():
        if type(key) is not str or type(item) is not str:
            return False
        if _UNPAIRED_SURROGATE.search(key) or _UNPAIRED_SURROGATE.search(item):
            return False
    getattr(message, name).update(value)
    return True


def _integer(message: Any, name: str, value: Any) -> bool:
    if type(value) is not int:
        return False
    setattr(message, name, value)  # ValueError when out of the field's range
    return True


def _boolean(message: Any, name: str, value: Any) -> bool:
    if type(value) is not bool:
        return False
    setattr(message, name, value)
    return True


def _timestamp(message: Any, name: str, value: Any) -> bool:
    if type(value) is not str:
        return False
    getattr(message, name).FromJsonString(value)  # what ParseDict calls; ValueError when malformed
    return True


def _enum(numbers: dict[str, int]) -> Setter:
    def set_enum(message: Any, name: str, value: Any) -> bool:
        if type(value) is not str or value not in numbers:
            return False
        setattr(message, name, numbers[value])
        return True

    return set_enum


def _table(descriptor: Descriptor) -> dict[str, Setter]:
    # ParseDict looks a key up by JSON name first: a field whose name is another's JSON name is left to it.
    json_names = {field.json_name for field in descriptor.fields if field.json_name != field.name}
    table: dict[str, Setter] = {}
    for field in descriptor.fields:
        real_oneof = field.containing_oneof is not None and len(field.containing_oneof.fields) > 1
        if real_oneof or field.name in json_names:  # (a proto3 `optional` is a oneof of one)
            continue
        setter = _setter(field)
        if setter is not None:
            table[field.name] = setter
    return table


def _setter(field: FieldDescriptor) -> Setter | None:
    kind = field.type
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        string = FieldDescriptor.TYPE_STRING
        key, value = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return _string_map if key.type == string and value.type == string else None
    if field.is_repeated:
        return _strings if kind == FieldDescriptor.TYPE_STRING else None
    if kind == FieldDescriptor.TYPE_STRING:
        return _string
    if kind in _INTEGERS:
        return _integer
    if kind == FieldDescriptor.TYPE_BOOL:
        return _boolean
    if kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        return _enum({value.name: value.number for value in field.enum_type.values})
    if entry is not None and entry.full_name == "google.protobuf.Timestamp":
        return _timestamp
    return None
