"""Helpers shared by the route modules: JSON bodies, paging parameters, audit reporting."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from salesgrid_gateway.audit_reads import record_sensitive_read
from salesgrid_gateway.problems import ApiProblem


def json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiProblem(415, "send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, "request body is not a JSON object")
    return body


def require_fields(body: dict[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "", [])]
    if missing:
        raise ApiProblem(400, f"missing required field(s): {', '.join(missing)}",
                         errors=[{"field": name, "message": "is required"} for name in missing])


def page_size() -> int:
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise ApiProblem(400, "limit must be an integer between 1 and 500",
                         errors=[{"field": "limit", "message": "must be 1..500"}])
    return int(raw)


def page(items: list[dict[str, Any]], next_cursor: str) -> dict[str, Any]:
    return {"items": items, "next_cursor": next_cursor or None}


def report_sensitive_read(action: str, target_type: str, detail: str = "") -> None:
    """Reads of sensitive lists and exports are recorded in identity's audit trail."""
    record_sensitive_read(action, target_type, detail)


def expected_version(body: dict, *, required: bool = True) -> int:
    """Optimistic concurrency: If-Match: "<version>" header, or `version` in the body. Without
    one, 428 when `required`, else 0 (the service then skips the check)."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    value = header or str(body.pop("version", "") or "")
    if not value:
        if not required:
            return 0
        raise ApiProblem(428, "send If-Match with the version you read (or `version` in the body)")
    if not value.isdigit():
        raise ApiProblem(400, "If-Match must carry the numeric version",
                         errors=[{"field": "If-Match", "message": "not a version"}])
    return int(value)


def with_etag(payload: dict, version: int, status: int = 200) -> tuple[Response, int]:
    response = jsonify(payload)
    response.headers["ETag"] = f'"{version}"'
    return response, status
