"""Helpers for hand-written views (most routes are generated from the route table, rest/):
audit reporting and ETag replies."""

from __future__ import annotations

from flask import Response, jsonify

from salesgrid_gateway.audit_reads import record_sensitive_read


def report_sensitive_read(action: str, target_type: str, detail: str = "") -> None:
    """Reads of sensitive lists and exports are recorded in identity's audit trail."""
    record_sensitive_read(action, target_type, detail)


def with_etag(payload: dict, version: int, status: int = 200) -> tuple[Response, int]:  # type: ignore[type-arg]
    response = jsonify(payload)
    response.headers["ETag"] = f'"{version}"'
    return response, status
