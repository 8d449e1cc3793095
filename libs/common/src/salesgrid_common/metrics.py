"""Prometheus metrics shared by every process (names per Prometheus conventions)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_HANDLED = Counter(
    "grpc_server_handled",
    "RPCs completed on the server, by method and status code",
    ["grpc_service", "grpc_method", "grpc_code"],
)
GRPC_LATENCY = Histogram(
    "grpc_server_handling_seconds",
    "RPC handling time on the server",
    ["grpc_service", "grpc_method"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests completed, by route, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request handling time",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
OUTBOX_BACKLOG = Gauge("salesgrid_outbox_backlog", "Outbox rows not yet acknowledged by JetStream", ["service"])
EVENTS_PUBLISHED = Counter("salesgrid_events_published", "Events acknowledged by JetStream", ["type"])
PUBLISH_FAILURES = Counter("salesgrid_event_publish_failures", "Failed attempts to publish an outbox row", ["service"])
CONSUMER_LAG = Gauge("salesgrid_consumer_lag", "Messages pending for a durable consumer", ["consumer"])
EVENTS_CONSUMED = Counter(
    "salesgrid_events_consumed",
    "Events handled by a consumer, by outcome",
    ["consumer", "type", "outcome"],
)
DEAD_LETTERS = Counter("salesgrid_dead_letters", "Events given up after bounded redelivery", ["consumer"])
DEAD_LETTERS_PENDING = Gauge("salesgrid_dead_letters_pending", "Dead letters waiting to be replayed", ["consumer"])
BUSINESS_EVENTS = Counter("salesgrid_business_events", "Business facts by kind", ["service", "kind"])
IDEMPOTENT_REPLAYS = Counter(
    "salesgrid_idempotent_replays",
    "Calls answered from their stored Idempotency-Key instead of executing",
    ["grpc_service", "grpc_method"],
)
# Commit → projection: how long after the producer committed an event a consumer applied it
# (the event pipeline's SLO; see deploy/helm/salesgrid/templates/prometheusrule.yaml).
PROJECTION_LAG = Histogram(
    "salesgrid_event_projection_lag_seconds",
    "Time from an event's commit to a consumer applying it",
    ["consumer"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
)
# Business counters (customers created, opportunities won/lost, …): salesgrid_common.business_metrics.


def serve_metrics(port: int) -> None:
    """Expose /metrics on its own small HTTP server (a daemon thread, off the event loop)."""
    if port:
        start_http_server(port)
