"""A small OTLP/gRPC trace receiver for tests: every process of the embedded platform exports its
spans to it (SALESGRID_OTLP_ENDPOINT), and a test reads the spans of a trace, across processes, to
check who is whose parent.

The receiver runs in its own process (`python -m salesgrid_dev.spans PORT FILE`, one JSON line per
span): a gRPC server's threads in the test process would break the fork of every process the
platform starts afterwards. `make run` starts one too, so a trace can be followed on this machine
(`grep <trace id> .run/logs/spans.jsonl`)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from salesgrid_dev.processes import free_port, terminate, wait_for_port

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: str
    service: str  # the exporting process's service.name
    attributes: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind in ("string_value", "int_value", "bool_value", "double_value") else None


class _Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, out: Any) -> None:
        self.out = out
        self.lock = threading.Lock()

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        lines = []
        for resource_spans in request.resource_spans:
            service = next(
                (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
            )
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    lines.append(
                        json.dumps(
                            {
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "name": span.name,
                                "kind": KINDS.get(span.kind, str(span.kind)),
                                "service": service,
                                "attributes": {a.key: _value(a.value) for a in span.attributes},
                            },
                            ensure_ascii=False,
                        )
                    )
        with self.lock:
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()
        return trace_service_pb2.ExportTraceServiceResponse()


def serve(port: int, path: str) -> None:
    with open(path, "a", encoding="utf-8") as out:
        server = grpc.server(ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Receiver(out), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        server.start()
        server.wait_for_termination()


class SpanReceiver:
    """The receiver process, and the spans it wrote."""

    def __init__(self, path: Any, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.spawn: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen  # the runner: spawn_child

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "SpanReceiver":
        self.process = self.spawn([sys.executable, "-m", "salesgrid_dev.spans", str(self.port), str(self.path)])
        wait_for_port(self.port, 15, self.process, "span receiver")
        return self

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        try:
            with open(self.path, encoding="utf-8") as lines:
                found = [json.loads(line) for line in lines if trace_id in line]
        except FileNotFoundError:
            return []
        return [ReceivedSpan(**entry) for entry in found if entry["trace_id"] == trace_id]

    def wait_for(self, trace_id: str, done: Any, timeout: float = 30.0) -> list[ReceivedSpan]:
        """The trace's spans once `done(spans)` is true (processes export in batches, ~5 s apart)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.trace(trace_id)
            if done(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.3)

    def stop(self) -> None:
        terminate(self.process)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
