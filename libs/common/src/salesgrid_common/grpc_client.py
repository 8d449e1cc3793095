"""Client side of tracing for every gRPC channel (the gateway's sync channels, the services'
grpc.aio channels to their peers): each call is a CLIENT span, child of the caller's current span,
and the call's metadata carries that span's W3C context, so the callee's SERVER span is its
child. Any traceparent/tracestate already in the metadata is replaced by the client span's."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

import grpc
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from salesgrid_common.tracing import current_trace_context, tracer

_TRACER = tracer(__name__)
_TRACE_KEYS = ("traceparent", "tracestate")


def traced_metadata(metadata: Sequence[tuple[str, Any]] | None) -> list[tuple[str, Any]]:
    """The call's metadata with the current span's trace context instead of any given one."""
    kept = [(k, v) for k, v in (metadata or ()) if k.lower() not in _TRACE_KEYS]
    return [*kept, *current_trace_context().items()]


def _start(method: str) -> Any:
    service, _, name = method.strip("/").partition("/")
    return _TRACER.start_as_current_span(
        method.strip("/"),
        kind=SpanKind.CLIENT,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": name},
    )


def _record(span: Span, code: grpc.StatusCode | None) -> None:
    if code is not None:
        span.set_attribute("rpc.grpc.status_code", code.value[0])
        if code != grpc.StatusCode.OK:
            span.set_status(Status(StatusCode.ERROR, code.name))


class _Details(
    namedtuple("_Details", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
    grpc.ClientCallDetails,
):
    pass


class TracingClientInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """For sync channels: `grpc.intercept_channel(channel, TracingClientInterceptor())`. The span
    lasts until the call completes (the gateway's calls are blocking anyway)."""

    def _intercept(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any) -> Any:
        with _start(details.method) as span:
            new = _Details(
                details.method,
                details.timeout,
                traced_metadata(details.metadata),
                details.credentials,
                getattr(details, "wait_for_ready", None),
                getattr(details, "compression", None),
            )
            outcome = continuation(new, request)
            outcome.exception()  # wait for the outcome inside the span
            _record(span, outcome.code())
            return outcome

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return self._intercept(continuation, client_call_details, request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request_iterator: Any
    ) -> Any:
        return self._intercept(continuation, client_call_details, request_iterator)


class AioTracingClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """For grpc.aio channels (`interceptors=[AioTracingClientInterceptor()]`)."""

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        with _start(
            client_call_details.method
            if isinstance(client_call_details.method, str)
            else client_call_details.method.decode()
        ) as span:
            new = grpc.aio.ClientCallDetails(
                client_call_details.method,
                client_call_details.timeout,
                grpc.aio.Metadata(*traced_metadata(client_call_details.metadata)),
                client_call_details.credentials,
                client_call_details.wait_for_ready,
            )
            call = await continuation(new, request)
            try:
                await call
            except grpc.aio.AioRpcError:
                pass  # the caller sees it when awaiting the call
            _record(span, await call.code())
            return call
