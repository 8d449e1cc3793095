"""What every request goes through around its view: before it (request id, client address, trace
span, credentials, password-change and address rules, rate limit, Idempotency-Key) and after it
(the key's answer kept, request id, rate-limit and CORS headers, metrics, the access log line)."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    get_current_span,
    set_span_in_context,
)

from salesgrid_common.metrics import HTTP_LATENCY, HTTP_REQUESTS
from salesgrid_common.tracing import context_from, exporting, tracer
from salesgrid_gateway import idempotency
from salesgrid_gateway.problems import ApiProblem, from_rpc
from salesgrid_gateway.security import client_ip, credentials, verify_jwt
from salesgrid_gateway.web import Request, RequestGlobals, Response

if TYPE_CHECKING:
    from salesgrid_gateway.app import Gateway

# One structured line per request (time, trace id, request id, principal, route, status, duration);
# never a token or a body. SALESGRID_LOG_LEVEL=WARNING turns it off.
access_log = logging.getLogger("salesgrid_gateway.access")
span_tracer = tracer(__name__)
TRACE_HEADERS = ("traceparent", "tracestate")
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/docs",
        "/v1/auth/login",
        "/v1/auth/refresh",
        "/v1/auth/logout",
    }
)
PASSWORD_CHANGE_PATHS = frozenset({"/v1/me", "/v1/auth/password"})
CORS_ALLOW_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, X-API-Key, X-Request-Id"
CORS_ALLOW_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
CORS_EXPOSE_HEADERS = "ETag, Idempotent-Replayed, Location, RateLimit, RateLimit-Policy, Retry-After, X-Request-Id"


def trace_headers(headers: dict[str, str]) -> dict[str, str]:
    """The W3C trace context a caller sent (only these headers are read for it)."""
    return {name: value for name in TRACE_HEADERS if (value := headers.get(name))}


def new_request_id() -> str:
    """A random (version 4) UUID in hex, as uuid.uuid4().hex, without the UUID object; its 16
    random bytes from os.urandom, read 4 kB at a time (one system call per 256 ids)."""
    global _random_at
    if _random_at >= len(_random):
        _random[:] = os.urandom(4096)
        _random_at = 0
    chosen = _random[_random_at : _random_at + 16]
    _random_at += 16
    chosen[6] = chosen[6] & 0x0F | 0x40  # version 4
    chosen[8] = chosen[8] & 0x3F | 0x80  # RFC 4122 variant
    return chosen.hex()


_random = bytearray()  # random bytes not used yet, from _random_at on
_random_at = 0


def _forget_random() -> None:
    """A forked worker must not hand out its parent's bytes again."""
    global _random_at
    _random.clear()
    _random_at = 0


os.register_at_fork(after_in_child=_forget_random)


def _server_span(name: str) -> Span:
    """The request's span. While nothing is exported the process's sampler records nothing (tracing
    .sampler_for): what the SDK's tracer makes is then a non-recording span in the current (the
    caller's) trace with its trace state, or in a new trace, with a new span id, not sampled; made
    directly here, without the tracer's sampling and checks (tests/test_call_context.py compares)."""
    provider = trace.get_tracer_provider()
    if exporting() or not isinstance(provider, TracerProvider) or getattr(provider, "_disabled", False):
        return span_tracer.start_span(name, kind=SpanKind.SERVER)
    parent = get_current_span().get_span_context()
    ids = provider.id_generator
    if parent.is_valid:
        trace_id, trace_state, random_id = parent.trace_id, parent.trace_state, parent.trace_flags.random_trace_id
    else:
        trace_id, trace_state, random_id = ids.generate_trace_id(), None, ids.is_trace_id_random()
    flags = _RANDOM_ID if random_id else _NOT_SAMPLED
    return NonRecordingSpan(SpanContext(trace_id, ids.generate_span_id(), False, flags, trace_state))


_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_RANDOM_ID = TraceFlags(TraceFlags.RANDOM_TRACE_ID)  # W3C level 2: the trace id is random


def start(app: Gateway, request: Request, g: RequestGlobals) -> None:
    """What holds for every request, answered or refused: its id, address and span."""
    g.started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-Id", "")[:100] or new_request_id()
    g.client_ip = client_ip(request, app.settings.trusted_proxy_header)
    sent = trace_headers(request.headers)
    # Without a caller's trace context there is nothing to extract: the span starts a trace.
    g.otel_token = otel_context.attach(context_from(sent)) if sent else None
    g.span = _server_span(f"{request.method} {request.rule or request.path}")
    g.trace_context = set_span_in_context(g.span)  # clients.metadata: what calls carry while it is current
    g.span_token = otel_context.attach(g.trace_context)


async def admit(app: Gateway, request: Request, g: RequestGlobals, *, streams: bool) -> Response | None:
    """The caller checked and counted; a Response ends the request here (a preflight, a replay)."""
    if request.method == "OPTIONS":
        return Response(status=204)
    path = request.path
    if path in PUBLIC_PATHS or path.startswith("/docs/") or not path.startswith("/v1/"):
        return None
    found = credentials(request)
    if found is None:
        raise ApiProblem(
            401,
            "missing credentials: send Authorization: Bearer <token> or X-API-Key",
            headers={"WWW-Authenticate": 'Bearer realm="salesgrid"'},
            code="UNAUTHENTICATED",
        )
    settings = app.settings
    kind, secret = found
    key_limit = 0
    if kind == "api_key":
        try:
            token, key_limit = await app.api_keys.token_for(
                secret, g.client_ip, app.auth_stub(), settings.grpc_timeout_seconds
            )
        except grpc.RpcError as error:
            raise from_rpc(error) from None
    else:
        token = secret
    principal = g.principal = await verify_jwt(app.verifier, token, g.client_ip)
    if principal.password_change_required and path not in PASSWORD_CHANGE_PATHS:
        raise ApiProblem(
            403,
            "password change required: POST /v1/auth/password, then refresh your tokens",
            code="PASSWORD_CHANGE_REQUIRED",
        )
    if not principal.ip_permitted():
        raise ApiProblem(
            403,
            f"access from {g.client_ip or 'an unknown address'} is not allowed for your unit",
            code="IP_NOT_ALLOWED",
        )
    g.token = token
    principal_key = f"{principal.kind}:{principal.subject_id}"
    default_limit = (
        settings.api_key_rate_limit_per_minute if principal.kind == "api_key" else settings.rate_limit_per_minute
    )
    g.rate_headers = await app.limiter.hit(principal_key, key_limit or default_limit)
    if request.method in idempotency.METHODS:  # a safe method never takes a key (idempotency.begin)
        lease = idempotency.lease_for(request, settings.grpc_timeout_seconds, settings.upload_timeout_seconds)
        claim = await idempotency.begin(app.store, principal_key, request, lease, streams=streams)
        if isinstance(claim, Response):
            return claim
        g.idempotency = claim
    return None


async def finish(app: Gateway, request: Request, g: RequestGlobals, response: Response) -> None:
    """Headers every answer carries, the key's answer kept, the request counted and logged."""
    claim = g.pop("idempotency")
    if claim is not None:
        await idempotency.finish(app.store, claim, response)
    headers = response.headers
    if g.get("idempotent_replayed"):
        headers["Idempotent-Replayed"] = "true"
    headers["X-Request-Id"] = g.get("request_id", "")
    headers.update(g.get("rate_headers") or ())
    origin = request.headers.get("Origin")
    if origin and origin in app.cors_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
        headers["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
        headers["Access-Control-Allow-Methods"] = CORS_ALLOW_METHODS
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    route = request.rule or "unmatched"
    counted = _counted(route, request.method, response.status_code)
    counted[0].inc()
    elapsed = time.perf_counter() - g.started
    counted[1].observe(elapsed)
    if access_log.isEnabledFor(logging.INFO):
        principal = g.get("principal")
        access_log.info(
            "request",
            extra={
                "request_id": g.request_id,
                "method": request.method,
                "route": route,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
                "client_ip": g.get("client_ip", ""),
                "principal_id": principal.subject_id if principal else "",
                "principal_kind": principal.kind if principal else "",
            },
        )


# (route, method, status) -> its request counter and latency histogram: `labels` looks a child up
# under a lock and checks the values each time. Bounded: the routes (or "unmatched") times the
# methods and statuses the gateway answers; cleared should it ever pass MAX_COUNTED.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
MAX_COUNTED = 4096


def _counted(route: str, method: str, status: int) -> tuple[Any, Any]:
    key = (route, method, status)
    found = _children.get(key)
    if found is None:
        if len(_children) >= MAX_COUNTED:
            _children.clear()
        found = _children[key] = (
            HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_LATENCY.labels(route, method),
        )
    return found


async def end(app: Gateway, g: RequestGlobals) -> None:
    """After the answer was sent, or when it could not be: a key still held is released."""
    claim = g.pop("idempotency")
    if claim is not None:  # no response was produced
        await idempotency.release(app.store, claim)
    if "span" in g:
        g.span.end()
        otel_context.detach(g.span_token)
        if g.otel_token is not None:
            otel_context.detach(g.otel_token)
