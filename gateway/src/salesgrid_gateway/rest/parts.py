"""The pieces of the OpenAPI document every operation shares: the statuses, headers, problem
responses, list envelope and the API's description (openapi.py assembles the operations)."""

from __future__ import annotations

from typing import Any

from salesgrid_gateway import idempotency
from salesgrid_gateway.problems import TITLES
from salesgrid_gateway.rest.table import TOTAL_FIELD

PROBLEM = {"$ref": "#/components/responses/Problem"}
# Statuses any authenticated operation may answer: bad input, no or bad credentials, not allowed,
# unknown record, conflict (also a request with the same Idempotency-Key still running), a rule
# refusing the change (also an Idempotency-Key reused with another request), rate limit, outage.
COMMON_ERRORS = (400, 401, 403, 404, 409, 414, 422, 429, 431, 503)
PUBLIC_ERRORS = (400, 401, 409, 414, 422, 429, 431, 503)
BODY_ERRORS = (413, 415)
STRING = {"type": "string"}
LIST_ENVELOPE = "next_cursor"
NEXT_CURSOR = {
    LIST_ENVELOPE: {"type": ["string", "null"], "description": "pass as `cursor` for the next page; null on the last"}
}
RATE_HEADERS = {
    "RateLimit": {
        "description": "remaining quota in the current window (IETF RateLimit header fields draft)",
        "schema": STRING,
    },
    "RateLimit-Policy": {"description": "the caller's limit per window", "schema": STRING},
}
REQUEST_ID = {
    "X-Request-Id": {
        "description": "the request's id (sent or generated), also in logs and traces",
        "schema": STRING,
        "required": True,
    }
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,18}"?$'},
    "description": 'the version read (ETag), e.g. "3"; 412 when stale. Required where the operation '
    "changes a versioned record (428 without it; a `version` member of the JSON body is also accepted)",
}

IDEMPOTENCY_KEY = {
    "name": idempotency.HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7e]+$"},
    "description": "retry-safe request: the first answer is stored for 24 h and replayed to a retry with the "
    "same key (`Idempotent-Replayed: true`); the key with another request is 422, while the first still "
    "runs 409",
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when the answer is the stored one of an earlier request with the same Idempotency-Key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}


CUSTOM_FILTERS = (
    "Custom field filters: `cf_<key>=<value>` query parameters, one per field (OpenAPI cannot name "
    "parameters by prefix), all must match: equality on the stored form (text case-insensitive, "
    "money as `12.50 CNY`); for a multi_choice field, records whose value holds the option."
)


DESCRIPTION = (
    "Sales-force management platform: REST/JSON API under /v1, generated from the services' gRPC "
    "messages. Errors are RFC 9457 problem+json naming the field (`errors[].field`). Lists answer "
    '`{"items": [...], "next_cursor": ...}`: pass `next_cursor` back as `cursor` (and `limit`, '
    "1-500) until it is null; `include_total=true` adds `total` (counted only when asked). 64-bit integers are JSON numbers. Records with a `version` answer "
    "`ETag`; changes take `If-Match` (428 without one where required, 412 when stale). Unsafe "
    "requests take `Idempotency-Key`. Rate limits: `RateLimit`/`RateLimit-Policy`, 429 with "
    "`Retry-After`."
)

PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {**STRING, "description": "the kind of refusal, e.g. .../problems/failed-precondition"},
        "title": STRING,
        "status": {"type": "integer"},
        "detail": STRING,
        "instance": STRING,
        "code": {
            **STRING,
            "description": "the specific refusal when the service names one (UPPER_SNAKE, e.g. POOL_DAILY_CLAIMS, "
            "STAGE_GATE_UNMET, STALE_VERSION); its values are in `info`",
        },
        "info": {"type": "object", "additionalProperties": STRING},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": STRING,
                    "message": STRING,
                    "code": {**STRING, "description": "REQUIRED | TOO_LONG | INVALID_FORMAT | OUT_OF_RANGE when known"},
                },
            },
        },
    },
}


def problem_response(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = dict(REQUEST_ID)
    if status in (429, 503):
        headers["Retry-After"] = {"description": "seconds to wait before retrying", "schema": STRING}
    if status == 401:
        headers["WWW-Authenticate"] = {"schema": STRING}
    return {
        "description": TITLES.get(status, "Problem details (RFC 9457)"),
        "headers": headers,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def list_of(item: dict[str, Any], *, counted: bool = False) -> dict[str, Any]:
    """The one list envelope of the API (`total` on lists that can count themselves)."""
    properties: dict[str, Any] = {
        "items": {"type": "array", "items": item},
        LIST_ENVELOPE: {
            "type": ["string", "null"],
            "description": "pass as `cursor` for the next page; null on the last",
        },
    }
    if counted:
        properties["total"] = {
            "type": "integer",
            "format": "int64",
            "minimum": 0,
            "description": "the records of the whole list (all pages) in the caller's data scope with the "
            "same filters; present only when asked with include_total=true",
        }
    return {"type": "object", "required": ["items", LIST_ENVELOPE], "properties": properties}


INCLUDE_TOTAL = {
    "name": TOTAL_FIELD,
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False},
    "description": "also count the whole list (in your data scope, with the same filters) into `total`; "
    "counted only when asked, since a count costs a scan",
}
