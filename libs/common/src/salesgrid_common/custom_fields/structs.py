"""Custom field values on the wire: a google.protobuf.Struct on record messages and events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct


def values_from(message: Message, field: str = "custom_fields") -> dict[str, Any] | None:
    """A request's values (None when the field is unset: nothing to change)."""
    if not message.HasField(field):
        return None
    return json_format.MessageToDict(getattr(message, field))


def struct_of(values: Mapping[str, Any] | None) -> Struct:
    struct = Struct()
    if values:
        struct.update(dict(values))
    return struct
