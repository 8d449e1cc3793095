"""RFC 9457 problem details for every error the gateway returns, including gRPC errors from
services (status code → HTTP status, field violations → `errors`)."""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from salesgrid_common.errors import CATEGORY_KEY, DomainError
from salesgrid_common.validation import violation_code
from salesgrid_gateway.web import Response, current, dumps

HTTP_FOR_GRPC = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 422,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    # A service (or one it depends on) down or too slow: an outage, not the client's fault.
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}
OUTAGE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
RETRY_AFTER_SECONDS = "2"
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    417: "Expectation Failed",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiProblem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        code: str = "",
        headers: dict[str, str] | None = None,
        info: dict[str, str] | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(detail)
        self.info = info or {}
        # `code` is the kind of refusal (the `type`: FAILED_PRECONDITION); `reason` a more specific
        # one when the service names it (POOL_DAILY_CLAIMS), sent as the body's `code` member.
        self.reason = reason
        self.status = status
        self.detail = detail
        self.errors = errors or []
        self.code = code
        self.headers = headers or {}


def problem_response(problem: ApiProblem) -> Response:
    kind = problem.code or TITLES.get(problem.status, "error")
    body: dict[str, Any] = {
        "type": f"https://salesgrid.dev/problems/{kind.lower().replace(' ', '-').replace('_', '-')}",
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.reason and problem.reason != problem.code:
        body["code"] = problem.reason
    if problem.errors:
        body["errors"] = problem.errors
    if problem.info:
        body["info"] = problem.info
    request_id = _request_id()
    if request_id:
        body["instance"] = f"urn:request:{request_id}"
    return Response(dumps(body), problem.status, dict(problem.headers), "application/problem+json")


def _request_id() -> str:
    try:
        return str(current().g.get("request_id", ""))
    except LookupError:  # outside a request (the server's own refusals)
        return ""


def violation(field: str, message: str, code: str) -> dict[str, str]:
    """An `errors[]` item: the field, the English message, and its stable code when known."""
    item = {"field": field, "message": str(message)}
    if code:
        item["code"] = code
    return item


def from_domain(error: DomainError) -> ApiProblem:
    code = grpc.StatusCode[error.code]
    status = HTTP_FOR_GRPC.get(code, 400)
    return ApiProblem(
        status,
        error.message,
        errors=[violation(f, m, violation_code(m)) for f, m in error.violations],
        code=error.category,
        reason=error.reason,
        info=error.info,
        headers={"Retry-After": RETRY_AFTER_SECONDS} if code in OUTAGE else None,
    )


def from_rpc(error: grpc.RpcError) -> ApiProblem:
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    status = HTTP_FOR_GRPC.get(code, 500 if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN) else 502)
    detail = error.details() if hasattr(error, "details") else ""
    outage = code in OUTAGE
    if status >= 500 and not outage:
        detail = "internal error"  # never pass internals to the client
    elif outage:
        detail = "a backing service is unavailable; try again"
    errors: list[dict[str, str]] = []
    reason = ""
    category = ""
    facts: dict[str, str] = {}
    status_proto = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    if status_proto is not None:
        for detail_any in status_proto.details:
            if detail_any.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail_any.Unpack(bad)
                errors.extend(violation(v.field, v.description, v.reason) for v in bad.field_violations)
            elif detail_any.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail_any.Unpack(info)
                reason = info.reason
                facts = dict(info.metadata) if status < 500 else {}
                category = dict(info.metadata).get(CATEGORY_KEY, "")
                facts.pop(CATEGORY_KEY, None)
    retry = {"Retry-After": facts["retry_after_seconds"]} if status == 429 and "retry_after_seconds" in facts else {}
    if outage:
        retry = {"Retry-After": RETRY_AFTER_SECONDS}
        if reason == "DEPENDENCY_UNAVAILABLE" and hasattr(error, "details") and error.details():
            detail = error.details()  # a service's own words on which dependency is down (no internals)
    return ApiProblem(
        status,
        detail or TITLES.get(status, "error"),
        errors=errors,
        code=category or reason,
        reason=reason if category else "",
        info=facts,
        headers=retry,
    )
