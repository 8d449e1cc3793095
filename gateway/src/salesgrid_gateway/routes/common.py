"""Helpers for hand-written views (most routes are generated from the route table, rest/):
audit reporting and ETag replies."""

from __future__ import annotations

from salesgrid_gateway.audit_reads import record_sensitive_read
from salesgrid_gateway.web import Response, json_response


async def report_sensitive_read(action: str, target_type: str, detail: str = "") -> None:
    """Reads of sensitive lists and exports are recorded in identity's audit trail."""
    await record_sensitive_read(action, target_type, detail)


def with_etag(payload: dict, version: int, status: int = 200) -> Response:  # type: ignore[type-arg]
    return json_response(payload, status, {"ETag": f'"{version}"'})
