"""OpenTelemetry tracing with W3C trace context carried through gRPC metadata, NATS headers and
event envelopes; spans exported over OTLP when an endpoint is configured.

Without an endpoint no span is recorded (a recorded span nobody exports cost ~50 µs each, three
or more per request): spans are non-recording, but they still carry the caller's trace id, so
trace context keeps flowing through every hop and into the logs. With an endpoint, root spans are
sampled at `SALESGRID_TRACE_SAMPLE_RATIO` (default: all) and a caller's sampling decision in its
`traceparent` is followed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, Sampler, SamplingResult, TraceIdRatioBased

_configured = False
_exporting = False


def sampler_for(otlp_endpoint: str | None, sample_ratio: float = 1.0) -> Sampler:
    """Nothing recorded without an exporter; else roots at `sample_ratio`, children as their parent."""
    if not otlp_endpoint:
        return ALWAYS_OFF
    return ParentBased(TraceIdRatioBased(sample_ratio))


class _ProcessSampler(Sampler):
    """The process's sampler: `sampler_for` its settings, until something asks for the spans
    (export_spans), from then on the ratio's."""

    def __init__(self, otlp_endpoint: str | None, sample_ratio: float) -> None:
        self.ratio = sample_ratio
        self.current = sampler_for(otlp_endpoint, sample_ratio)

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return self.current.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return f"salesgrid({self.current.get_description()})"


_sampler: _ProcessSampler | None = None


def export_spans(processor: SpanProcessor) -> None:
    """Send this process's spans to `processor` too (tests read spans in memory this way): spans
    are recorded from now on, even where no endpoint was configured."""
    global _exporting
    if _sampler is None:
        setup_tracing("salesgrid", None)
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider) and _sampler is not None
    _sampler.current = sampler_for("in-process", _sampler.ratio)
    provider.add_span_processor(processor)
    _exporting = True


def exporting() -> bool:
    """Whether this process exports spans (set up with an endpoint): without, a span is never
    recorded, so a caller may skip making one where only the context needs to travel."""
    return _exporting


def setup_tracing(service: str, otlp_endpoint: str | None, sample_ratio: float = 1.0) -> None:
    global _configured, _exporting, _sampler
    if _configured:
        return
    _exporting = bool(otlp_endpoint)
    _sampler = _ProcessSampler(otlp_endpoint, sample_ratio)
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=_sampler)
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


@lru_cache(maxsize=None)  # one per module name; get_tracer itself costs tens of microseconds per call
def tracer(name: str) -> trace.Tracer:
    # Before setup_tracing this is OpenTelemetry's proxy tracer, which follows the provider set later.
    return trace.get_tracer(name)


def current_trace_context() -> dict[str, str]:
    """The active context as W3C headers (traceparent, tracestate)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> otel_context.Context:
    if carrier is None:
        return otel_context.get_current()
    items = carrier.items() if isinstance(carrier, Mapping) else carrier
    return propagate.extract({key.lower(): value for key, value in items if isinstance(value, str)})
