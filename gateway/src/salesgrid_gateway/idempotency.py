"""`Idempotency-Key` for unsafe requests (POST, PUT, PATCH, DELETE), after the IETF draft
"The Idempotency-Key HTTP Header Field" and Stripe's API:

- the first request's response (status, the headers that describe the result, body) is kept per
  principal for 24 h and replayed, marked `Idempotent-Replayed: true`, for a retry with the key;
- the same key with a different request (method, path, query or body) is 422 naming the key;
- while the first request runs, a second one with the key gets 409 (`Retry-After: 1`); the
  record is created with an atomic compare-and-set in the shared store, so this holds across
  gateway workers and replicas and survives a gateway restart;
- a 5xx answer is not kept (the key is released, the client retries), and a record left pending
  by a worker that died is taken over once its lease ran out (the call deadline plus a margin:
  `lease_for`);
- the key goes on to the services with each call (`clients.idempotency_metadata`), where each
  write commits it with its answer in its own transaction (salesgrid_common.idempotency): a retry
  after the service committed but the gateway never kept the answer (a 503 after a crash, a
  gateway killed mid-request) gets the service's stored answer instead of executing again;
- a key that is not 1-255 printable ASCII characters is 400 naming the header.

Bodies are compared by SHA-256. Uploads that are not JSON stream through the gateway untouched,
so for them the fingerprint covers the method, path, query, content type and length only."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass

from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.shared_store import KvStore, StoreUnavailable
from salesgrid_gateway.web import Request, Response

BUCKET = "SALESGRID_IDEMPOTENCY"
TTL_SECONDS = 24 * 3600
LEASE_MARGIN_SECONDS = 5.0
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "Idempotency-Key"
REUSED = "IDEMPOTENCY_KEY_REUSED"  # the problem code, here and from the services
# Headers that describe the result; per-request ones (request id, rate limits, CORS) are not replayed.
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag", "Last-Modified", "Content-Disposition", "Link")
_CANONICAL = {name.lower(): name for name in REPLAYED_HEADERS}
MAX_STORED_BODY = 768 << 10  # below the key-value store's 1 MiB value limit, with room for the envelope


@dataclass
class Claim:
    """A key this request holds while it executes."""

    key: str
    fingerprint: str
    revision: int


def _fingerprint(request: Request, streams: bool) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.query_string.decode("latin-1")):
        digest.update(part.encode() + b"\0")
    if (
        request.mimetype in ("", "application/json")
        and not streams
        and (request.content_length or 0) <= MAX_STORED_BODY * 8
    ):
        digest.update(request.get_data())
    else:
        digest.update(f"{request.mimetype}\0{request.content_length}".encode())
    return digest.hexdigest()


def _store_key(principal: str, key: str) -> str:
    # KV keys allow [-/_=.a-zA-Z0-9]; the client's key is hashed with the principal.
    return hashlib.sha256(f"{principal}\0{key}".encode()).hexdigest()


def _pending(fingerprint: str, lease: float) -> bytes:
    return json.dumps({"state": "pending", "fingerprint": fingerprint, "started": time.time(), "lease": lease}).encode()


def lease_for(request: Request, call_timeout: float, upload_timeout: float) -> float:
    """How long a pending record holds its key: the deadline of the calls this request makes,
    plus a margin (uploads, which stream under their own deadline, hold it longer)."""
    upload = request.mimetype not in ("", "application/json")
    return (upload_timeout if upload else call_timeout) + LEASE_MARGIN_SECONDS


async def begin(
    store: KvStore, principal: str, request: Request, lease: float, *, streams: bool = False
) -> Claim | Response | None:
    """None: no key or a safe method. A Claim: execute, then `finish`. A Response: replay it.
    `streams`: the route streams its body to the service (an upload): not read for the fingerprint."""
    if request.method not in METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise ApiProblem(
            400,
            f"{HEADER} must be 1-255 printable ASCII characters",
            errors=[{"field": HEADER, "message": "1-255 printable ASCII characters"}],
        )
    fingerprint = _fingerprint(request, streams)
    store_key = _store_key(principal, key)
    try:
        for _ in range(3):
            revision = await store.create(BUCKET, store_key, _pending(fingerprint, lease))
            if revision is not None:
                return Claim(store_key, fingerprint, revision)
            found = await store.get(BUCKET, store_key)
            if found is None:
                continue  # expired or released between the two calls
            record, revision = json.loads(found[0]), found[1]
            if record["fingerprint"] != fingerprint:
                raise ApiProblem(
                    422,
                    f"{HEADER} {key!r} was already used for a different request; use a new key for a new request",
                    errors=[{"field": HEADER, "message": "reused with a different request"}],
                    code=REUSED,
                )
            if record["state"] == "done":
                return _replay(record)
            if time.time() - record["started"] < record.get("lease", lease):
                raise ApiProblem(
                    409,
                    f"a request with {HEADER} {key!r} is still being processed; retry later",
                    headers={"Retry-After": "1"},
                    code="IDEMPOTENCY_KEY_IN_USE",
                )
            taken = await store.update(
                BUCKET, store_key, _pending(fingerprint, lease), revision
            )  # abandoned: take over
            if taken is not None:
                return Claim(store_key, fingerprint, taken)
    except StoreUnavailable:
        raise ApiProblem(
            503,
            f"requests with {HEADER} cannot be accepted right now; retry later",
            headers={"Retry-After": "1"},
            code="IDEMPOTENCY_UNAVAILABLE",
        ) from None
    raise ApiProblem(
        409,
        f"a request with {HEADER} {key!r} is being processed concurrently; retry later",
        headers={"Retry-After": "1"},
        code="IDEMPOTENCY_KEY_IN_USE",
    )


def _replay(record: dict) -> Response:  # type: ignore[type-arg]
    response = Response(base64.b64decode(record["body"]), status=record["status"])
    for name, value in record["headers"]:
        response.headers[_CANONICAL.get(name.lower(), name)] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


async def finish(store: KvStore, claim: Claim, response: Response) -> None:
    """Keep the response for replay, or release the key after a server error or when the
    response cannot be kept (streamed or too large)."""
    try:
        if response.status_code >= 500 or response.is_streamed:
            await store.delete(BUCKET, claim.key)
            return
        body = response.get_data()
        if len(body) > MAX_STORED_BODY:
            await store.delete(BUCKET, claim.key)
            return
        record = {
            "state": "done",
            "fingerprint": claim.fingerprint,
            "status": response.status_code,
            "headers": [[h, response.headers[h]] for h in REPLAYED_HEADERS if h in response.headers],
            "body": base64.b64encode(body).decode(),
        }
        await store.update(BUCKET, claim.key, json.dumps(record).encode(), claim.revision)
    except StoreUnavailable:
        pass  # the pending record expires with its lease; the client's retry then executes


async def release(store: KvStore, claim: Claim) -> None:
    try:
        await store.delete(BUCKET, claim.key)
    except StoreUnavailable:
        pass


OPENAPI_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Makes a retry safe: the first response to this key is kept for 24 h per caller and replayed "
    "(with `Idempotent-Replayed: true`) for a retry with the same key and request. The same key "
    "with a different request is 422; while the first request runs, a second one is 409 "
    "(retry after `Retry-After`). Server errors (5xx) are not kept by the gateway; a write the service "
    "committed before such an error is not executed again: the retry gets its stored answer.",
}


REPLAYED_HEADER = {
    "description": "`true` when this is the kept response to an earlier request with the same Idempotency-Key",
    "schema": {"type": "string", "enum": ["true"]},
}
_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
KEY_RESPONSES = {
    "409": {
        "description": f"A request with this {HEADER} is still being processed: retry after `Retry-After` "
        "(problem code IDEMPOTENCY_KEY_IN_USE)",
        "content": _PROBLEM,
    },
    "422": {
        "description": f"This {HEADER} was already used for a different request, or the request breaks a "
        "business rule (problem code IDEMPOTENCY_KEY_REUSED names the header)",
        "content": _PROBLEM,
    },
}


def document(paths: dict[str, dict]) -> None:  # type: ignore[type-arg]
    """Declare the header on every unsafe operation of the OpenAPI document, with the
    `Idempotent-Replayed` header of its success responses and the 409 and 422 it can cause."""
    for operations in paths.values():
        for method, operation in operations.items():
            if method.upper() in METHODS and not operation.get("security") == []:
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == HEADER for p in parameters):
                    parameters.append(OPENAPI_PARAMETER)
                responses = operation.setdefault("responses", {})
                for status, response in responses.items():
                    if status.startswith("2") and "$ref" not in response:
                        response.setdefault("headers", {}).setdefault("Idempotent-Replayed", REPLAYED_HEADER)
                for status, response in KEY_RESPONSES.items():
                    responses.setdefault(status, response)
