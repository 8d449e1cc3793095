"""Every call on a grpc.aio channel of a service (ServiceContext.channel) is a CLIENT span, child of
the caller's span, and the callee receives that span's context in the call's metadata (replacing
any the caller put there); a failed call ends the span as an error and still raises to the caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from salesgrid_common.tracing import export_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from salesgrid_common import service_context
from salesgrid_common.grpc_client import AioTracingClientInterceptor
from salesgrid_common.tracing import tracer


class Recorder(grpc.aio.ServerInterceptor):
    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], details: Any) -> Any:
        self.metadata.append({k: v for k, v in details.invocation_metadata if isinstance(v, str)})
        return await continuation(details)


@pytest.fixture(scope="module")
def exported() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    export_spans(SimpleSpanProcessor(exporter))  # records from now on, whatever set tracing up before
    return exporter


async def test_client_span_is_the_callees_parent(exported: InMemorySpanExporter) -> None:
    recorder = Recorder()
    server = grpc.aio.server(interceptors=[recorder])
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=[AioTracingClientInterceptor()])
    try:
        stub = health_pb2_grpc.HealthStub(channel)
        stale = "00-11111111111111111111111111111111-2222222222222222-01"
        with tracer(__name__).start_as_current_span("use case") as caller:
            reply = await stub.Check(
                health_pb2.HealthCheckRequest(), metadata=(("traceparent", stale), ("authorization", "Bearer t"))
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            with pytest.raises(grpc.aio.AioRpcError) as failed:
                await stub.Check(health_pb2.HealthCheckRequest(service="no-such-service"))
            assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await channel.close()
        await server.stop(None)
    spans = [
        s
        for s in exported.get_finished_spans()
        if s.name == "grpc.health.v1.Health/Check"
        and s.parent is not None
        and s.parent.span_id == caller.get_span_context().span_id
    ]
    assert len(spans) == 2 and all(s.kind == trace.SpanKind.CLIENT for s in spans)
    ok, bad = spans
    trace_id = format(caller.get_span_context().trace_id, "032x")
    assert recorder.metadata[0]["traceparent"].startswith(f"00-{trace_id}-{ok.context.span_id:016x}-")
    assert recorder.metadata[0]["authorization"] == "Bearer t"
    assert recorder.metadata[1]["traceparent"].startswith(f"00-{trace_id}-{bad.context.span_id:016x}-")
    assert ok.status.is_ok and not bad.status.is_ok
    assert bad.attributes["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]


@pytest.mark.parametrize("exports", [True, False])
async def test_a_peer_channel_carries_the_trace_with_or_without_client_spans(
    exports: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ServiceContext.channel adds the CLIENT-span interceptor only when spans are exported;
    without it the caller's trace context still reaches the callee through outgoing_metadata."""
    monkeypatch.setattr(service_context, "exporting", lambda: exports)
    recorder = Recorder()
    server = grpc.aio.server(interceptors=[recorder])
    health_pb2_grpc.add_HealthServicer_to_server(HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    context = service_context.ServiceContext(None, None, None, None, None, None)  # type: ignore[arg-type]
    channel = context.channel(f"127.0.0.1:{port}")
    try:
        assert bool(channel._unary_unary_interceptors) == exports  # type: ignore[attr-defined]
        with tracer(__name__).start_as_current_span("use case") as caller:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), metadata=service_context.outgoing_metadata("t")
            )
    finally:
        await channel.close()
        await server.stop(None)
    trace_id = format(caller.get_span_context().trace_id, "032x")
    assert recorder.metadata[0]["traceparent"].startswith(f"00-{trace_id}-")
    assert recorder.metadata[0]["authorization"] == "Bearer t"
