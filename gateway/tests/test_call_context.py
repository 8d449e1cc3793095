"""What the gateway sends a service with each call (pipeline.start, clients.metadata), read by a
stand-in identity: the caller's token, the request id (the client's or a new random UUID) and
the W3C trace context: a caller's trace continued under the gateway's own span, a new trace for
each request that brings none. Also the request counter of the answered route."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from opentelemetry import baggage
from opentelemetry import context as otel_context
from opentelemetry.trace import set_span_in_context
from prometheus_client import REGISTRY
from salesgrid_dev.gateway_client import test_client
from salesgrid_dev.testing import TestKeys, principal

from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common import tracing
from salesgrid_common.ids import new_id
from salesgrid_common.tracing import context_from, current_trace_context, exporting, tracer
from salesgrid_gateway import pipeline, web
from salesgrid_gateway.app import create_app
from salesgrid_gateway.clients import trace_metadata
from salesgrid_gateway.settings import GatewaySettings

PARTNER_TRACE, PARTNER_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


@pytest.fixture
async def identity(test_keys: TestKeys) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Auth(identity_pb2_grpc.AuthServicer):
        async def GetJwks(self, request: Any, context: Any) -> Any:
            return identity_pb2.Jwks(json=test_keys.jwks())

    class Identity(identity_pb2_grpc.IdentityServicer):
        async def GetMe(self, request: Any, context: Any) -> Any:
            seen.append(dict(context.invocation_metadata()))
            return identity_pb2.User(id="u1", login="rep")

    server = grpc.aio.server()
    identity_pb2_grpc.add_AuthServicer_to_server(Auth(), server)
    identity_pb2_grpc.add_IdentityServicer_to_server(Identity(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", seen
    finally:
        await server.stop(0)


def _requests_counted(status: str) -> float:
    value = REGISTRY.get_sample_value("http_requests_total", {"route": "/v1/me", "method": "GET", "status": status})
    return value or 0.0


async def test_each_call_carries_token_request_id_and_trace_context(
    identity: tuple[str, list[dict[str, str]]], test_keys: TestKeys
) -> None:
    address, seen = identity
    client = test_client(create_app(GatewaySettings(environment="test", identity_addr=address, log_level="WARNING")))
    token = test_keys.token(principal(new_id(), "/c/t1/"))
    bearer = {"Authorization": f"Bearer {token}"}
    counted = _requests_counted("200")

    replies = [
        await asyncio.to_thread(client.get, "/v1/me", headers=bearer),
        await asyncio.to_thread(client.get, "/v1/me", headers=bearer),
        await asyncio.to_thread(
            client.get,
            "/v1/me",
            headers={
                **bearer,
                "X-Request-Id": "mine",
                "traceparent": f"00-{PARTNER_TRACE}-{PARTNER_SPAN}-01",
                "tracestate": "partner=1",
            },
        ),
    ]

    assert [reply.status_code for reply in replies] == [200, 200, 200]
    assert _requests_counted("200") == counted + 3
    assert [call["authorization"] for call in seen] == [f"Bearer {token}"] * 3
    assert [call["x-request-id"] for call in seen] == [reply.headers["X-Request-Id"] for reply in replies]
    for generated in seen[0]["x-request-id"], seen[1]["x-request-id"]:
        assert uuid.UUID(hex=generated).version == 4 and uuid.UUID(hex=generated).hex == generated
    assert seen[0]["x-request-id"] != seen[1]["x-request-id"] and seen[2]["x-request-id"] == "mine"
    traces = [call["traceparent"].split("-") for call in seen]
    assert all(len(trace) == 4 and int(trace[1], 16) and int(trace[2], 16) for trace in traces)
    assert traces[0][1] != traces[1][1]  # a request without a trace context starts its own trace
    assert traces[2][1] == PARTNER_TRACE and traces[2][2] != PARTNER_SPAN  # continued under the gateway's span
    assert "tracestate" not in seen[0] and seen[2]["tracestate"] == "partner=1"


@pytest.mark.parametrize("sent", [[], [(b"traceparent", f"00-{PARTNER_TRACE}-{PARTNER_SPAN}-01".encode())]])
async def test_the_trace_metadata_is_what_the_propagators_write(sent: list[tuple[bytes, bytes]]) -> None:
    """clients.trace_metadata formats the request span's context itself while it is the current
    one: the same headers as current_trace_context(); and goes through the propagators once a
    view set another span or baggage."""
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    headers = [*sent, (b"tracestate", b"a=1,b=2")] if sent else []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    request = web.Request({"type": "http", "method": "GET", "path": "/v1/me", "headers": headers}, receive, 10)
    state = web.Current(request, app)
    bound = web.bind(state)
    try:
        pipeline.start(app, request, state.g)
        assert trace_metadata(state.g) == list(current_trace_context().items()) != []
        child = tracer("test").start_span("child")
        token = otel_context.attach(baggage.set_baggage("k", "v", set_span_in_context(child)))
        assert trace_metadata(state.g) == list(current_trace_context().items())
        assert dict(trace_metadata(state.g))["baggage"] == "k=v"
        otel_context.detach(token)
        assert trace_metadata(state.g) == list(current_trace_context().items())
        await pipeline.end(app, state.g)
    finally:
        web.unbind(bound)


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {"traceparent": f"00-{PARTNER_TRACE}-{PARTNER_SPAN}-01", "tracestate": "partner=1,b=2"},
        {"traceparent": f"00-{PARTNER_TRACE}-{PARTNER_SPAN}-00"},
        {"traceparent": f"00-{'0' * 32}-{PARTNER_SPAN}-01"},  # invalid: a new trace
    ],
)
def test_the_request_span_is_the_one_the_tracer_makes_when_nothing_is_exported(
    sent: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pipeline._server_span makes the request's span itself while no span is exported: the same
    kind of span, trace, trace state, flags and locality as the SDK's tracer gives (the span id
    is new either way)."""
    create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    # A test earlier in this process may have asked for the spans (tracing.export_spans, which
    # lasts for the process): for this one the process is as one set up without an endpoint.
    monkeypatch.setattr(tracing, "_exporting", False)
    if tracing._sampler is not None:
        monkeypatch.setattr(tracing._sampler, "current", tracing.sampler_for(None))
    assert not exporting()
    token = otel_context.attach(context_from(sent)) if sent else None
    try:
        for _ in range(3):
            made, reference = pipeline._server_span("GET /v1/me"), tracer("reference").start_span("GET /v1/me")
            mine, theirs = made.get_span_context(), reference.get_span_context()
            assert type(made) is type(reference) and not made.is_recording()
            assert (mine.trace_state, mine.trace_flags, mine.is_remote) == (
                theirs.trace_state,
                theirs.trace_flags,
                theirs.is_remote,
            )
            assert mine.is_valid and mine.span_id not in (theirs.span_id, int(PARTNER_SPAN, 16))
            if sent and int(sent["traceparent"].split("-")[1], 16):  # a valid caller's trace: continued
                assert mine.trace_id == theirs.trace_id == int(PARTNER_TRACE, 16)
            else:
                assert mine.trace_id != theirs.trace_id  # each a new trace
    finally:
        if token is not None:
            otel_context.detach(token)
