"""JSON Schema (OpenAPI 3.1) from protobuf message descriptors: the REST API's types are the
services' messages, so they are derived, never re-typed.

The mapping, chosen once for the whole API:
- 64-bit integers are JSON numbers (`integer`, `format: int64`; see protojson.message_to_api_dict),
  32-bit ones `integer` with their range; floats `number`; bytes base64 strings;
- google.protobuf.Timestamp is an RFC 3339 `date-time` string, the other well-known types follow
  proto3's JSON mapping;
- a nested message is a component schema (`#/components/schemas/<Message>`);
- a field that has presence (a message, an `optional` scalar) is left out when unset; every
  other field is always present in responses.

What proto3 cannot say (allowed values of a string, a decimal pattern, a date) comes from
rest/constraints.py, keyed by the message's full name and field: knowledge the services own,
declared once so requests and responses share it."""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from salesgrid_gateway.rest import constraints

INT32 = {"type": "integer", "format": "int32", "minimum": -(2**31), "maximum": 2**31 - 1}
UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
UINT64 = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}
SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
}
WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?\d+(\.\d+)?s$"},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": INT32,
    "google.protobuf.Int64Value": INT64,
    "google.protobuf.UInt32Value": UINT32,
    "google.protobuf.UInt64Value": UINT64,
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.BytesValue": {"type": "string", "contentEncoding": "base64"},
}

HINTS = constraints.FIELDS
STRUCT_FIELDS = constraints.STRUCT_FIELDS
REF_PREFIX = "#/components/schemas/"


def not_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """A required member's schema: the gateway refuses it empty ("", [], {}), the services
    refuse blank text."""
    kind = schema.get("type")
    if kind == "string" and not {"enum", "format", "pattern"} & set(schema):
        return {**schema, "minLength": 1, "pattern": r"\S"}
    if kind == "string":
        return {**schema, "minLength": 1}
    if kind == "array":
        return {**schema, "minItems": 1}
    if kind == "object":
        return {**schema, "minProperties": 1}
    if "$ref" in schema:
        return {"allOf": [schema], "minProperties": 1}
    return schema


def is_int64(field: FieldDescriptor) -> bool:
    return SCALARS.get(field.type) in (INT64, UINT64)


class Schemas:
    """Component schemas, one per message reached from an operation."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}

    def ref(self, descriptor: Descriptor) -> dict[str, Any]:
        if descriptor.full_name in WELL_KNOWN:
            return copy.deepcopy(WELL_KNOWN[descriptor.full_name])
        if descriptor.full_name not in self.components:
            self.components[descriptor.full_name] = {}  # placeholder: recursive messages terminate
            self.components[descriptor.full_name] = self.object(descriptor)
        return {"$ref": REF_PREFIX + descriptor.full_name}

    def object(
        self,
        descriptor: Descriptor,
        *,
        exclude: frozenset[str] | set[str] = frozenset(),
        rename: dict[str, str] | None = None,
        required: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The message as an object schema (its fields but `exclude`, named `rename[field]`)."""
        names = {proto: rest for rest, proto in (rename or {}).items()}
        properties: dict[str, Any] = {}
        for field in descriptor.fields:
            if field.name in exclude:
                continue
            properties[names.get(field.name, field.name)] = self.field(field, descriptor.full_name)
        properties.update(extra or {})
        # unknown members are refused (clients.from_json), so the schema says so
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = list(required)
            for name in required:
                if name in properties:
                    properties[name] = not_empty(properties[name])
        return schema

    def field(self, field: FieldDescriptor, owner: str = "") -> dict[str, Any]:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value = self.field(field.message_type.fields_by_name["value"])
            return {"type": "object", "additionalProperties": value, **HINTS.get(owner, {}).get(field.name, {})}
        single = self.single(field)
        extra = HINTS.get(owner, {}).get(field.name)
        if field.is_repeated:
            schema: dict[str, Any] = {"type": "array", "items": single}
            if extra:
                schema["items"] = {**single, **{k: v for k, v in extra.items() if k != "description"}}
                if "description" in extra:
                    schema["description"] = extra["description"]
            return schema
        if extra:
            if "$ref" in single:
                return {"allOf": [single], **extra}
            return {**single, **extra}
        return single

    def single(self, field: FieldDescriptor) -> dict[str, Any]:
        if field.type == FieldDescriptor.TYPE_ENUM:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        if field.message_type is not None:
            if field.message_type.full_name == "google.protobuf.Struct" and field.name in STRUCT_FIELDS:
                return dict(STRUCT_FIELDS[field.name])
            return self.ref(field.message_type)
        return dict(SCALARS[field.type])


def short_names(components: dict[str, Any]) -> dict[str, str]:
    """Full proto names -> component names: the message's own name, or package-qualified
    (customers.v1.Money -> CustomersMoney) where two packages share a name."""
    by_short: dict[str, list[str]] = {}
    for full in components:
        by_short.setdefault(full.rsplit(".", 1)[-1], []).append(full)
    names = {}
    for short, fulls in by_short.items():
        for full in fulls:
            names[full] = (
                short
                if len(fulls) == 1
                else "".join(
                    part[:1].upper() + part[1:] for part in full.removeprefix("salesgrid.").split(".") if part != "v1"
                )
            )
    return names
