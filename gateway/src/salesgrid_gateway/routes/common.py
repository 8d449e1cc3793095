"""Helpers for hand-written views (most routes are generated from the route table, rest/):
audit reporting, ETag replies, and the older helpers kept for hand-written modules, each the
same parsing as the generated views (rest/inputs.py)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from salesgrid_gateway.audit_reads import record_sensitive_read
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs


def json_body() -> dict[str, Any]:
    return inputs.json_body()


def require_fields(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "", [])]
    if missing:
        raise ApiProblem(
            400,
            f"missing required field(s): {', '.join(missing)}",
            errors=[{"field": name, "message": "is required"} for name in missing],
        )


def page_size() -> int:
    return inputs.limit()


def page(items: list[dict[str, Any]], next_cursor: str) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor or None}


def report_sensitive_read(action: str, target_type: str, detail: str = "") -> None:
    """Reads of sensitive lists and exports are recorded in identity's audit trail."""
    record_sensitive_read(action, target_type, detail)


def expected_version(body: dict, *, required: bool = True) -> int:  # type: ignore[type-arg]
    return inputs.if_match(body, required=required)


def with_etag(payload: dict, version: int, status: int = 200) -> tuple[Response, int]:  # type: ignore[type-arg]
    response = jsonify(payload)
    response.headers["ETag"] = f'"{version}"'
    return response, status
