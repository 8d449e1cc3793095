"""Which spans are recorded: none without an exporter (but the trace id still flows), roots at the
configured ratio with one, and a caller's sampling decision always followed."""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider

from salesgrid_common.tracing import sampler_for

PARTNER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(provider: TracerProvider, traceparent: str | None = None):  # type: ignore[no-untyped-def]
    context = propagate.extract({"traceparent": traceparent}) if traceparent else None
    return provider.get_tracer("t").start_span("work", context=context)


def test_without_an_exporter_nothing_is_recorded_but_the_callers_trace_continues() -> None:
    provider = TracerProvider(sampler=sampler_for(None))
    root = _span(provider)
    assert not root.is_recording()
    assert root.get_span_context().is_valid  # logs and outgoing calls still get a trace id
    child = _span(provider, f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01")
    assert not child.is_recording()
    assert format(child.get_span_context().trace_id, "032x") == PARTNER_TRACE


def test_with_an_exporter_every_root_is_recorded_by_default() -> None:
    provider = TracerProvider(sampler=sampler_for("127.0.0.1:4317"))
    assert all(_span(provider).is_recording() for _ in range(50))


def test_the_ratio_samples_roots_and_a_sampled_caller_is_always_followed() -> None:
    provider = TracerProvider(sampler=sampler_for("127.0.0.1:4317", 0.0))
    assert not any(_span(provider).is_recording() for _ in range(50))
    followed = _span(provider, f"00-{PARTNER_TRACE}-00f067aa0ba902b7-01")
    assert followed.is_recording()
    assert format(followed.get_span_context().trace_id, "032x") == PARTNER_TRACE
    assert not _span(provider, f"00-{PARTNER_TRACE}-00f067aa0ba902b7-00").is_recording()
    half = TracerProvider(sampler=sampler_for("127.0.0.1:4317", 0.5))
    recorded = sum(_span(half).is_recording() for _ in range(400))
    assert 120 < recorded < 280
