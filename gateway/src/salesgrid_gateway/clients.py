"""gRPC clients to the services: one grpc.aio channel per address, calls carrying the caller's
token, trace context, request id and client address; proto ↔ JSON conversion for handlers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc.aio import Metadata
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry import baggage, propagate
from opentelemetry import context as otel_context
from opentelemetry.trace import INVALID_SPAN_CONTEXT

from salesgrid_common.grpc_client import AioTracingClientInterceptor
from salesgrid_common.grpc_server import CLIENT_OPTIONS
from salesgrid_common.tracing import current_trace_context, exporting
from salesgrid_gateway.problems import ApiProblem, from_rpc
from salesgrid_gateway.rest.build import build
from salesgrid_gateway.rest.render import to_api_dict
from salesgrid_gateway.web import current, g

M = TypeVar("M", bound=Message)


class Channels:
    """One grpc.aio channel per address and one stub per (stub class, address), on the event loop
    that made them (a worker has one; a test may run several loops one after the other)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._stubs: dict[tuple[Any, str], Any] = {}

    def stub(self, stub_class: Callable[[grpc.aio.Channel], Any], address: str) -> Any:
        """A stub built once per process (building one registers every method on the channel)."""
        found = self._stubs.get((stub_class, address))
        if found is None or self._loop is not asyncio.get_running_loop():
            channel = self.get(address)
            found = self._stubs[(stub_class, address)] = stub_class(channel)
        return found

    def get(self, address: str) -> grpc.aio.Channel:
        if not address:
            raise ApiProblem(503, "this part of the platform is not configured")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._channels, self._stubs = loop, {}, {}
        if address not in self._channels:
            # Each call a CLIENT span whose context the call carries (grpc_client), when spans are
            # exported; otherwise the call carries the request's context (metadata()) without one.
            interceptors = [AioTracingClientInterceptor()] if exporting() else None
            self._channels[address] = grpc.aio.insecure_channel(
                address, options=CHANNEL_OPTIONS, interceptors=interceptors
            )
        return self._channels[address]

    async def close(self) -> None:
        channels, self._channels, self._stubs, self._loop = self._channels, {}, {}, None
        for channel in channels.values():
            await channel.close()


# Without channelz's per-call bookkeeping (call counters and times for gRPC's channelz debug service,
# which nothing in the gateway serves or reads): about 2 % of a call's client CPU.
CHANNEL_OPTIONS = [*CLIENT_OPTIONS, ("grpc.enable_channelz", 0)]
W3C_FIELDS = frozenset({"traceparent", "tracestate", "baggage"})  # the default propagators' (W3C)
_w3c_textmap: list[Any] = [None, False]  # (the global propagator last seen, it is the default one)


def trace_metadata(state: Any) -> list[tuple[str, str]]:
    """The current trace context as W3C headers: current_trace_context(), formatted directly from
    the request's span while the context pipeline.start attached is the current one (no other
    span or baggage set since) and the propagators are OpenTelemetry's default (W3C trace context
    and baggage), which is what they would write; through the propagators otherwise."""
    textmap = propagate.get_global_textmap()
    if textmap is not _w3c_textmap[0]:
        _w3c_textmap[:] = [textmap, set(textmap.fields) == W3C_FIELDS]
    context = state.get("trace_context")
    if not _w3c_textmap[1] or context is None or otel_context.get_current() is not context:
        return list(current_trace_context().items())
    if "trace_items" not in state:  # that context and its span do not change: formatted once per request
        state.trace_items = None if baggage.get_all(context) else _span_items(state.span)
    formatted = state.trace_items
    return list(current_trace_context().items()) if formatted is None else list(formatted)


def _span_items(span: Any) -> list[tuple[str, str]]:
    """The W3C headers of `span`'s context."""
    span_context = span.get_span_context()
    if span_context == INVALID_SPAN_CONTEXT:
        return []
    flags = span_context.trace_flags
    items = [("traceparent", f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-{flags:02x}")]
    if span_context.trace_state:
        items.append(("tracestate", span_context.trace_state.to_header()))
    return items


def metadata(token: str | None = None) -> list[tuple[str, str]]:
    state = current().g
    items = trace_metadata(state)
    bearer = token if token is not None else state.get("token")
    if bearer:
        items.append(("authorization", f"Bearer {bearer}"))
    if request_id := state.get("request_id"):
        items.append(("x-request-id", request_id))
    if client_ip := state.get("client_ip"):
        items.append(("x-client-ip", client_ip))
    return items


def stub(stub_class: Callable[[grpc.aio.Channel], Any], setting: str) -> Any:
    """A stub for the service whose address is the gateway setting `setting`."""
    app = current().app
    return app.channels.stub(stub_class, getattr(app.settings, setting))


async def call(method: Callable[..., Awaitable[M]], request: Message, *, token: str | None = None) -> M:
    return await _invoke(method, request, token, current().app.settings.grpc_timeout_seconds)  # type: ignore[no-any-return]


async def call_stream(
    method: Callable[..., Awaitable[M]], requests: AsyncIterator[Message], *, token: str | None = None
) -> M:
    """A client-streaming upload, under the upload deadline: gRPC takes `requests` as it sends them."""
    return await _invoke(method, requests, token, current().app.settings.upload_timeout_seconds)  # type: ignore[no-any-return]


def idempotency_metadata(method: Callable[..., Any]) -> list[tuple[str, str]]:
    """The request's `Idempotency-Key` for the service (salesgrid_common.idempotency): the
    caller-scoped key, numbered per method within the request, so each write call of a retried
    request finds its own record in the service."""
    claim = g.get("idempotency")
    if claim is None:
        return []
    calls = g.setdefault("idempotency_calls", {})
    number = calls[method] = calls.get(method, 0) + 1
    return [("idempotency-key", f"{claim.key}.{number}"), ("idempotency-request", claim.fingerprint)]


async def _invoke(
    method: Callable[..., Any], request: Message | AsyncIterator[Message], token: str | None, timeout: float
) -> Any:
    try:
        # Given as grpc.aio's own Metadata: a list is checked against typing.Sequence and copied first.
        keyed = idempotency_metadata(method)
        if not keyed:
            return await method(request, metadata=Metadata(*metadata(token)), timeout=timeout)
        rpc = method(request, metadata=Metadata(*metadata(token), *keyed), timeout=timeout)
        response = await rpc
        if ("idempotent-replayed", "true") in tuple(await rpc.trailing_metadata() or ()):
            g.idempotent_replayed = True  # the service answered from the key: the response says so
        return response
    except grpc.RpcError as error:
        raise from_rpc(error) from None


def to_json(message: Message) -> dict[str, Any]:
    """The REST rendering: proto3 JSON with field names as in the .proto, fields without presence
    always present, 64-bit integers as numbers (rest/schema.py documents the mapping)."""
    return to_api_dict(message)  # type: ignore[no-any-return]


def from_json(message_type: type[M], body: dict[str, Any], **extra: Any) -> M:
    """Build a request message from JSON, refusing unknown fields and wrong types by name."""
    values = {**body, **extra} if extra else body
    built = build(message_type, values)
    if built is not None:
        return built  # type: ignore[return-value]
    try:
        return json_format.ParseDict(values, message_type())
    except Exception as error:  # noqa: BLE001 - json_format lets a few ValueError/TypeError through
        text = (str(error) or type(error).__name__).split("\n")[0]
        unknown = re.search(r'has no field named "([^"]+)"', text)
        failed = re.search(r"Failed to parse (\w+) field", text)
        field = unknown.group(1) if unknown else failed.group(1) if failed else ""
        if unknown:
            text = f"{field}: no such field"
        raise ApiProblem(
            400, f"invalid request: {text}", errors=[{"field": field, "message": text}] if field else None
        ) from None
    except OverflowError as error:  # an integer past a double's range inside a Struct (custom_fields)
        raise ApiProblem(400, f"invalid request body: {error}") from None
