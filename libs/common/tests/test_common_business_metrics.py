"""Business counters are counted in one place, the outbox relay, once JetStream acknowledged a
committed event: a rolled-back transaction or an unacknowledged publish counts nothing; labels
stay bounded. The relay's publish span is the child of the span that recorded the event, and its
context is what the message headers carry to consumers. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from salesgrid_common.tracing import export_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from salesgrid.events.v1.contracts_events_pb2 import ContractsReceiptRecorded
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.export_events_pb2 import ExportAudited
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.business_metrics import count_import_rows, currency_label
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.consumer import EventConsumer, Subscription, trace_carrier
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.packs import unpack_message
from salesgrid_common.events.relay import OutboxRelay
from salesgrid_common.tracing import tracer

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


COUNTED = {
    "customers": ("salesgrid_customers_created_total", {}),
    "won": ("salesgrid_opportunities_closed_total", {"outcome": "won"}),
    "lost": ("salesgrid_opportunities_closed_total", {"outcome": "lost"}),
    "receipts": ("salesgrid_receipts_collected_total", {"currency": "CNY"}),
    "collected": ("salesgrid_receipts_collected_amount_total", {"currency": "CNY"}),
    "odd_currency": ("salesgrid_receipts_collected_total", {"currency": "other"}),
    "exports": ("salesgrid_exports_completed_total", {"entity": "customers"}),
    "export_rows": ("salesgrid_export_rows_total", {"entity": "customers"}),
}


def counters() -> dict[str, float]:
    return {key: sample(name, **labels) for key, (name, labels) in COUNTED.items()}


class FlakyPublisher:
    """Fails every publish while `down`, else records what it was given."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[tuple[str, dict[str, str]]] = []  # per event: a pack's events each with its carrier

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        if self.down:
            raise ConnectionError("no JetStream")
        self.sent += [(subject, event.headers) for event in unpack_message(payload, headers)]


@pytest.fixture(scope="module")
def exported() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    export_spans(SimpleSpanProcessor(exporter))  # records from now on, whatever set tracing up before
    return exporter


async def record(
    sessions: SessionFactory, producer: str, event_type: str, payload: object, *, rollback: bool = False
) -> None:
    box = Outbox(producer)
    async with sessions() as session:
        async with session.begin() as transaction:
            await box.record(session, event_type, payload, EventMeta(aggregate_id="agg-1"), NOW)  # type: ignore[arg-type]
            if rollback:
                await transaction.rollback()


async def test_counted_once_acknowledged_and_never_for_a_rollback(
    sessions: SessionFactory, database_url: str, exported: InMemorySpanExporter
) -> None:
    before = counters()
    await record(sessions, "customers", "salesgrid.customers.customer.created", CustomerRecordState(customer_id="c1"))
    await record(
        sessions,
        "customers",
        "salesgrid.customers.customer.created",
        CustomerRecordState(customer_id="c2"),
        rollback=True,
    )
    await record(sessions, "pipeline", "salesgrid.pipeline.opportunity.won", PipelineOpportunityState(status="won"))
    await record(sessions, "pipeline", "salesgrid.pipeline.opportunity.updated", PipelineOpportunityState())
    await record(
        sessions,
        "contracts",
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(receipt_id="r1", amount="400.50", currency="CNY"),
    )
    await record(
        sessions,
        "contracts",
        "salesgrid.contracts.receipt.recorded",
        ContractsReceiptRecorded(receipt_id="r2", amount="9", currency="XYZ"),
    )
    await record(
        sessions,
        "customers",
        "salesgrid.customers.export.completed",
        ExportAudited(job_id="j1", entity="customers", rows=3, status="ready"),
    )
    await record(
        sessions, "customers", "salesgrid.customers.export.requested", ExportAudited(job_id="j1", entity="customers")
    )
    publisher = FlakyPublisher()
    relay = OutboxRelay("mixed", sessions, publisher, Outbox("mixed").signal, database_url=database_url)

    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert counters() == before  # committed but not acknowledged: not counted yet

    publisher.down = False
    assert await relay.publish_pending() == 7
    moved = {key: counters()[key] - before[key] for key in COUNTED}
    assert moved == {
        "customers": 1,
        "won": 1,
        "lost": 0,
        "receipts": 1,
        "collected": 400.5,
        "odd_currency": 1,
        "exports": 1,
        "export_rows": 3,
    }
    assert await relay.publish_pending() == 0
    assert {key: counters()[key] - before[key] for key in COUNTED} == moved  # nothing counted twice

    # Each event (alone or in a pack: the two receipts) carries its own publish span's context;
    # that span is the recording span's child.
    spans = {span.context.span_id: span for span in exported.get_finished_spans()}
    assert len(publisher.sent) == 7 and len({headers["traceparent"] for _, headers in publisher.sent}) == 7
    for _subject, headers in publisher.sent:
        span_id = int(headers["traceparent"].split("-")[2], 16)
        publish = spans[span_id]
        assert publish.kind == trace.SpanKind.PRODUCER and publish.name.startswith("publish salesgrid.")
        assert spans[publish.parent.span_id].name.startswith("outbox record salesgrid.")


def test_labels_stay_bounded() -> None:
    assert (currency_label("EUR"), currency_label("eur"), currency_label("<script>")) == ("EUR", "other", "other")
    before = (
        sample("salesgrid_import_rows_processed_total", outcome="created"),
        sample("salesgrid_import_rows_processed_total", outcome="failed"),
    )
    count_import_rows(created=3, failed=1)
    assert (
        sample("salesgrid_import_rows_processed_total", outcome="created") - before[0],
        sample("salesgrid_import_rows_processed_total", outcome="failed") - before[1],
    ) == (3, 1)


class _Message:
    def __init__(self, headers: dict[str, str] | None) -> None:
        self.headers = headers


def test_a_consumer_continues_the_publish_span_and_observes_commit_to_projection_lag(
    exported: InMemorySpanExporter,
) -> None:
    with tracer(__name__).start_as_current_span("request"):
        envelope = build_envelope(
            "salesgrid.customers.customer.created",
            "customers",
            CustomerRecordState(),
            EventMeta(aggregate_id="c1"),
            NOW,
        )
    publish = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    assert trace_carrier(_Message({**publish, "Nats-Msg-Id": "x"}), envelope) == publish
    assert trace_carrier(_Message(None), envelope) == dict(envelope.trace_context)  # a replayed dead letter

    consumer = EventConsumer(
        Subscription("analytics-customers", "customers"),
        js=None,
        sessions=None,  # type: ignore[arg-type]
        clock=lambda: NOW + timedelta(seconds=3),
    )
    name, labels = "salesgrid_event_projection_lag_seconds", {"consumer": "analytics-customers"}
    count, total = sample(f"{name}_count", **labels), sample(f"{name}_sum", **labels)
    within = sample(f"{name}_bucket", **labels, le="5.0"), sample(f"{name}_bucket", **labels, le="2.5")
    consumer._observe_lag(envelope)
    assert sample(f"{name}_count", **labels) - count == 1 and sample(f"{name}_sum", **labels) - total == 3.0
    assert (
        sample(f"{name}_bucket", **labels, le="5.0") - within[0],
        sample(f"{name}_bucket", **labels, le="2.5") - within[1],
    ) == (1, 0)
