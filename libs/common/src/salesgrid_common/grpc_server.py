"""The one server interceptor every service runs: tracing (W3C context from metadata), RED
metrics, authentication of the caller's token, and mapping of domain errors to gRPC status
codes with structured details (field violations, reason)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from salesgrid_common import paging
from salesgrid_common.auth.principal import Principal, current_principal
from salesgrid_common.auth.verifiers import AsyncTokenVerifier
from salesgrid_common.dependencies import is_outage
from salesgrid_common.errors import DependencyUnavailable, DomainError, PermissionDenied, Unauthenticated
from salesgrid_common.idempotency.calls import (
    METADATA_FINGERPRINT,
    METADATA_KEY,
    METADATA_REPLAYED,
    IdempotentCalls,
    StoredRefusal,
)
from salesgrid_common.metrics import GRPC_HANDLED, GRPC_LATENCY, IDEMPOTENT_REPLAYS
from salesgrid_common.tracing import context_from, exporting, tracer
from salesgrid_common.validation import violation_code

log = logging.getLogger(__name__)
# One structured line per RPC (method, status, duration, request and trace ids, principal); never
# a token or a message body. SALESGRID_LOG_LEVEL=WARNING turns it off.
rpc_log = logging.getLogger("salesgrid_common.rpc")
_TRACER = tracer(__name__)

# Always reachable without a token: probes, reflection and the login/JWKS endpoints that
# services register through `public_methods`.
ALWAYS_PUBLIC_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


# Channel and server options, above gRPC's 4 MiB default for the largest single messages left
# (report exports, list pages); uploads stream in chunks of about 1 MiB instead.
MESSAGE_LIMITS = [("grpc.max_receive_message_length", 8 << 20), ("grpc.max_send_message_length", 8 << 20)]
# Client channels to peers: after an outage, reconnect within ~2 s of the peer coming back (gRPC's
# default back-off grows to 120 s, so a restarted dependency stayed "unavailable" for minutes).
CLIENT_OPTIONS = [
    *MESSAGE_LIMITS,
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


def new_server(interceptors: Sequence[grpc.aio.ServerInterceptor] = ()) -> grpc.aio.Server:
    """A grpc.aio server that serves every method through its service's generic handler.

    The generated `add_*Servicer_to_server` registers each method twice: in a generic handler (a
    dict from method to handler) and as a core "registered method". For registered methods
    grpc.aio's serving loop keeps one pending future per method and, for every call, runs
    `asyncio.wait` over all of them: callbacks added to and removed from 20-60 futures per call in
    our services. Served generically, the loop waits on one future; the method is found by a dict
    lookup in the interceptor's continuation, as before gRPC 1.62. A trivial call's server CPU fell
    by about a sixth (docs/performance.md, tenth round)."""
    server = grpc.aio.server(options=MESSAGE_LIMITS, interceptors=list(interceptors))
    server.add_registered_method_handlers = _generic_only
    return server


def _generic_only(service_name: str, method_handlers: dict[str, grpc.RpcMethodHandler]) -> None:
    """The generated code added the same handlers generically just before: nothing to register."""


def status_for(error: DomainError) -> status_pb2.Status:
    details: list[any_pb2.Any] = []
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=field, description=message, reason=violation_code(message)
                )
                for field, message in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        details.append(packed)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain="salesgrid", metadata=error.wire_info()))
    details.append(info)
    return status_pb2.Status(code=grpc.StatusCode[error.code].value[0], message=error.message, details=details)


def bearer_from(metadata: dict[str, str]) -> str | None:
    value = metadata.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


PrincipalCheck = Callable[[Principal], Awaitable[None]]


def _server_span(method: str, carried: otel_context.Context) -> AbstractContextManager[Span]:
    """The call's SERVER span. When nothing is exported a span is never recorded, so a call that
    carries its caller's trace context goes on in the caller's (non-recording) span: the trace id
    reaches the logs and the calls this one makes without the SDK building a span (~25 µs).
    Without a caller's context a span is started as before, for a trace id of its own."""
    if not exporting():
        caller = trace.get_current_span(carried)
        if caller.get_span_context().is_valid:
            return nullcontext(caller)
    return _TRACER.start_as_current_span(method, kind=SpanKind.SERVER)


class ServerInterceptor(grpc.aio.ServerInterceptor):
    """`checks` run after the token verified: each raises a DomainError to refuse the caller
    (e.g. a user deactivated since the token was issued)."""

    def __init__(
        self,
        verifier: AsyncTokenVerifier,
        public_methods: frozenset[str] = frozenset(),
        checks: Sequence[PrincipalCheck] = (),
        password_change_methods: frozenset[str] = frozenset(),
        idempotent: IdempotentCalls | None = None,
    ) -> None:
        self.verifier = verifier
        self.idempotent = idempotent  # unary calls with an `idempotency-key` execute once
        self.public_methods = public_methods
        self.checks = tuple(checks)
        self.password_change_methods = password_change_methods  # open to a token awaiting a password change
        # method -> (the registered handler, its wrapped handler): wrapping once per method, not per call
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}
        # Per served method (a finite set: unknown methods never reach _handle): its names and its
        # metric children, looked up once instead of by label values on every call.
        self._method_names: dict[str, tuple[str, str]] = {}
        self._handled: dict[tuple[str, grpc.StatusCode], Any] = {}
        self._latency: dict[str, Any] = {}

    def _names(self, method: str) -> tuple[str, str]:
        names = self._method_names.get(method)
        if names is None:
            service_name, _, method_name = method.strip("/").partition("/")
            names = self._method_names[method] = (service_name, method_name)
        return names

    def _count(self, method: str, code: grpc.StatusCode, elapsed: float) -> None:
        handled = self._handled.get((method, code))
        if handled is None:
            handled = self._handled[(method, code)] = GRPC_HANDLED.labels(*self._names(method), code.name)
        handled.inc()
        latency = self._latency.get(method)
        if latency is None:
            latency = self._latency[method] = GRPC_LATENCY.labels(*self._names(method))
        latency.observe(elapsed)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return None
        known = self._wrapped.get(details.method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped_handler = self._wrap(handler, details.method)
        self._wrapped[details.method] = (handler, wrapped_handler)
        return wrapped_handler

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        # Unary and client-streaming (uploads) RPCs answer once, so the same handling covers both;
        # server-streaming RPCs (reflection, health watches) pass through untouched.
        inner = handler.unary_unary or handler.stream_unary
        if inner is None:
            return handler
        public = method in self.public_methods or method.startswith(ALWAYS_PUBLIC_PREFIXES)

        serialize = handler.response_serializer
        keyed = serialize is not None and self.idempotent is not None
        upload = handler.unary_unary is None

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            # request: the message, or the async iterator of a client stream (read by the servicer)
            return await self._handle(method, public, inner, request, context, serialize if keyed else None, upload)

        def serialize_or_replay(response: Any) -> bytes:
            # a replayed answer is already serialized
            return response if isinstance(response, bytes) else serialize(response)

        make = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return make(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=serialize_or_replay if keyed else serialize,
        )

    async def _handle(
        self,
        method: str,
        public: bool,
        inner: Any,
        request: Any,
        context: grpc.aio.ServicerContext,
        serialize: Callable[[Any], bytes] | None = None,
        upload: bool = False,
    ) -> Any:
        metadata = {key: value for key, value in (context.invocation_metadata() or ()) if isinstance(value, str)}
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        carried = context_from(metadata)
        token = otel_context.attach(carried)
        principal_token = None
        principal: Principal | None = None
        trace_id = ""
        try:
            with _server_span(method, carried) as span:
                trace_id = format(span.get_span_context().trace_id, "032x")
                try:
                    if not public:
                        bearer = bearer_from(metadata)
                        if bearer is None:
                            raise Unauthenticated("missing bearer token")
                        principal = await self.verifier.verify(bearer, metadata.get("x-client-ip", ""))
                        if not principal.ip_permitted():
                            raise PermissionDenied(
                                f"access from {principal.client_ip or 'an unknown address'} is not allowed for your unit"
                            )
                        if principal.password_change_required and method not in self.password_change_methods:
                            raise PermissionDenied(
                                "password change required: change your password, then refresh your tokens"
                            )
                        for check in self.checks:
                            await check(principal)
                        principal_token = current_principal.set(principal)
                    key = metadata.get(METADATA_KEY)
                    if key and principal is not None and serialize is not None and self.idempotent is not None:
                        if upload:  # the stream cannot be fingerprinted before it is read: the gateway's
                            answer = await self.idempotent.run_upload(
                                key,
                                metadata.get(METADATA_FINGERPRINT, ""),
                                principal,
                                method,
                                serialize,
                                request,
                                lambda requests: inner(requests, context),
                            )
                        else:
                            fingerprint = (
                                metadata.get(METADATA_FINGERPRINT)
                                or hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
                            )
                            answer = await self.idempotent.run(
                                key, fingerprint, principal, method, serialize, lambda: inner(request, context)
                            )
                        if isinstance(answer, bytes):  # the stored answer: tell the caller it is a replay
                            context.set_trailing_metadata(((METADATA_REPLAYED, "true"),))
                            IDEMPOTENT_REPLAYS.labels(*self._names(method)).inc()
                        return answer
                    with paging.asked_for(request) as wanted:  # counts only when asked
                        reply = await inner(request, context)
                    paging.answer(reply, wanted)
                    return reply
                except StoredRefusal as refusal:  # a refusal committed with the key, replayed
                    stored = status_pb2.Status.FromString(refusal.status)
                    code = next(c for c in grpc.StatusCode if c.value[0] == stored.code)
                    await context.abort_with_status(rpc_status.to_status(stored))
                except DomainError as error:
                    code = grpc.StatusCode[error.code]
                    span.set_status(Status(StatusCode.ERROR, error.message))
                    await context.abort_with_status(rpc_status.to_status(status_for(error)))
                except grpc.aio.AbortError:
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                except Exception as exc:
                    span.record_exception(exc)
                    if is_outage(exc):  # the database is down or busy: retry later, not a bug
                        code = grpc.StatusCode.UNAVAILABLE
                        log.warning("backing store unavailable in %s: %r", method, exc)
                        await context.abort_with_status(
                            rpc_status.to_status(
                                status_for(DependencyUnavailable("the service's database is unavailable; retry later"))
                            )
                        )
                    code = grpc.StatusCode.INTERNAL
                    log.exception("unhandled error in %s", method)
                    await context.abort(grpc.StatusCode.INTERNAL, "internal error")
        finally:
            if principal_token is not None:
                current_principal.reset(principal_token)
            otel_context.detach(token)
            elapsed = time.perf_counter() - started
            self._count(method, code, elapsed)
            if rpc_log.isEnabledFor(logging.INFO):
                rpc_log.info(
                    "rpc",
                    extra={
                        "grpc_method": method,
                        "grpc_code": code.name,
                        "duration_ms": round(elapsed * 1000, 2),
                        "request_id": metadata.get("x-request-id", ""),
                        "trace_id": trace_id,
                        "principal_id": principal.subject_id if principal else "",
                        "principal_kind": principal.kind if principal else "",
                    },
                )
