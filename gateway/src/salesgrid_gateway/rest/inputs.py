"""Reading what a client sends: JSON bodies, typed query values, paging and If-Match. Every
refusal is a 400 (or 415/428) problem naming the parameter, never a 5xx."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.web import request

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Only ASCII digits: str.isdigit() also accepts '²' or '٣', which int() then refuses.
INTEGER = re.compile(r"-?[0-9]{1,20}")
VERSION = re.compile(r"[0-9]{1,18}")
RANGES = {
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


def bad(name: str, message: str, detail: str = "") -> ApiProblem:
    return ApiProblem(
        400, detail or f"{name}: {message}", errors=[{"field": name, "message": message}], code="VALIDATION_FAILED"
    )


def require(names: Sequence[str], sent: dict[str, Any]) -> None:
    """400 naming every required member that is missing or empty (the services' kind of refusal,
    validation-failed, each field with the code REQUIRED)."""
    missing = [name for name in names if sent.get(name) in (None, "", [], {})]
    if missing:
        raise ApiProblem(
            400,
            f"missing required field(s): {', '.join(missing)}",
            errors=[{"field": name, "message": "is required", "code": "REQUIRED"} for name in missing],
            code="VALIDATION_FAILED",
        )


def json_body(optional: bool = False) -> dict[str, Any]:
    """The JSON object sent; {} for an optional body that was not sent."""
    if optional and not request.content_length and not request.headers.get("Transfer-Encoding"):
        return {}
    if not request.is_json:
        raise ApiProblem(415, "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(
            400, "request body is not a JSON object", errors=[{"field": "body", "message": "not a JSON object"}]
        )
    reject_nul(body, "")
    return body


def reject_nul(value: Any, where: str) -> None:
    """No text of the API may hold a NUL character (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise bad(where or "body", "must not contain the NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key, where or "body")
            reject_nul(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            reject_nul(item, f"{where}[{index}]")


def integer(raw: str, name: str, low: int, high: int) -> int:
    if not INTEGER.fullmatch(raw):
        raise bad(name, "must be a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise bad(name, f"must be between {low} and {high}")
    return value


def query_value(field: FieldDescriptor, name: str) -> Any:
    """A query parameter converted for `field` (repeated fields take the parameter repeatedly)."""
    raws = request.args.getlist(name) if field.is_repeated else [request.args[name]]
    values = [_scalar(field, raw, name) for raw in raws]
    return values if field.is_repeated else values[0]


def _scalar(field: FieldDescriptor, raw: str, name: str) -> Any:
    reject_nul(raw, name)
    if field.type in RANGES:
        return integer(raw, name, *RANGES[field.type])
    if field.type == FieldDescriptor.TYPE_BOOL:
        if raw.lower() not in ("true", "false"):
            raise bad(name, "must be true or false")
        return raw.lower() == "true"
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        try:
            return float(raw)
        except ValueError:
            raise bad(name, "must be a number") from None
    return raw  # strings; Timestamps are checked when the message is built (naming the field)


def check_choices(choices: Mapping[str, Sequence[str]]) -> None:
    """400 naming the parameter and the values allowed when a query parameter takes another value
    (or is sent to an operation that takes none)."""
    for name, allowed in choices.items():
        if name in request.args and request.args[name] not in allowed:
            if not allowed:
                raise bad(name, "is not a parameter of this operation")
            raise bad(name, f"must be one of {', '.join(allowed)}")


def limit() -> int:
    raw = request.args.get("limit")
    return DEFAULT_LIMIT if raw is None else integer(raw, "limit", 1, MAX_LIMIT)


# Cursors are the service's page token wrapped with the list they belong to and a check value,
# so a garbled or foreign cursor is a 400 naming `cursor` (a service would often take it for a
# position and silently answer some other page).
def encode_cursor(scope: str, token: str) -> str | None:
    if not token:
        return None
    packed = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
    return f"{packed}.{_check(scope, token)}"


def decode_cursor(scope: str) -> str:
    raw = request.args.get("cursor", "")
    if not raw:
        return ""
    packed, _, check = raw.rpartition(".")
    try:
        token = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)).decode()
    except (binascii.Error, ValueError):
        token = None
    if token is None or not packed or check != _check(scope, token):
        raise bad("cursor", "is not a cursor this list returned (start again without one)")
    return token


def _check(scope: str, token: str) -> str:
    return hashlib.sha256(f"{scope}\n{token}".encode()).hexdigest()[:10]


def if_match(body: dict[str, Any], *, required: bool) -> int:
    """Optimistic concurrency: If-Match: "<version>" (or `version` in the body). Without one,
    428 when `required`, else 0 (the service then skips the check)."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    given = body.pop("version", None)
    value = header or ("" if given in (None, "") else str(given))
    if not value:
        if required:
            raise ApiProblem(
                428,
                "send If-Match with the version you read (or `version` in the body)",
                errors=[{"field": "If-Match", "message": "is required"}],
            )
        return 0
    if not VERSION.fullmatch(value):
        where = "If-Match" if header else "version"
        raise bad(where, "must carry the numeric version you read")
    return int(value)
