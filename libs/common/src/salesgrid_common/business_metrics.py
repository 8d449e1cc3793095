"""Business counters an operator and a sales director chart, counted in ONE place: the outbox
relay, once JetStream acknowledged a committed event (a rolled-back transaction publishes nothing,
so it counts nothing; replicas each count the rows they sent, so `sum` over the pods is the
total). Names follow Prometheus conventions (`_total` is added by the client library) and every
label has a bounded set of values: outcome won|lost, an ISO-4217 code (else "other"), an export's
entity (one per exporter a service declares).

Imports write no event per job, so their counters are incremented by the customers import runner
itself after each batch commits (`count_import_rows`, `count_import_completed`)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from prometheus_client import Counter

from salesgrid.events.v1.contracts_events_pb2 import ContractsReceiptRecorded
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.export_events_pb2 import ExportAudited
from salesgrid_common.currencies import MINOR_UNITS

CUSTOMERS_CREATED = Counter("salesgrid_customers_created", "Customers created (by hand, API or import)")
OPPORTUNITIES_CLOSED = Counter(
    "salesgrid_opportunities_closed", "Opportunities closed, by outcome (won, lost)", ["outcome"]
)
RECEIPTS_COLLECTED = Counter(
    "salesgrid_receipts_collected", "Receipts recorded against contracts, by currency", ["currency"]
)
RECEIPTS_AMOUNT = Counter(
    "salesgrid_receipts_collected_amount", "Money collected by receipts, in major units of the currency", ["currency"]
)
EXPORTS_COMPLETED = Counter("salesgrid_exports_completed", "Export jobs completed, by exported entity", ["entity"])
EXPORT_ROWS = Counter("salesgrid_export_rows", "Rows written by completed export jobs, by exported entity", ["entity"])
IMPORT_ROWS = Counter(
    "salesgrid_import_rows_processed", "Import rows processed, by outcome (created, failed)", ["outcome"]
)
IMPORTS_COMPLETED = Counter("salesgrid_imports_completed", "Import jobs that processed their last row")

OUTCOMES = ("won", "lost")
IMPORT_OUTCOMES = ("created", "failed")
# Series present at 0 from the start, so rate()/increase() see the first event and dashboards
# show 0 rather than "no data".
for _outcome in OUTCOMES:
    OPPORTUNITIES_CLOSED.labels(_outcome)
for _outcome in IMPORT_OUTCOMES:
    IMPORT_ROWS.labels(_outcome)


def currency_label(code: str) -> str:
    return code if code in MINOR_UNITS else "other"


def _amount(text: str) -> float:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return 0.0
    return float(value) if value.is_finite() and value > 0 else 0.0


def _receipt(envelope: Envelope) -> None:
    receipt = ContractsReceiptRecorded.FromString(envelope.payload)
    currency = currency_label(receipt.currency)
    RECEIPTS_COLLECTED.labels(currency).inc()
    RECEIPTS_AMOUNT.labels(currency).inc(_amount(receipt.amount))


def _export(envelope: Envelope) -> None:
    audited = ExportAudited.FromString(envelope.payload)
    entity = audited.entity or "unknown"
    EXPORTS_COMPLETED.labels(entity).inc()
    EXPORT_ROWS.labels(entity).inc(max(audited.rows, 0))


_BY_TYPE: dict[str, Callable[[Envelope], None]] = {
    "salesgrid.customers.customer.created": lambda _e: CUSTOMERS_CREATED.inc(),
    "salesgrid.pipeline.opportunity.won": lambda _e: OPPORTUNITIES_CLOSED.labels("won").inc(),
    "salesgrid.pipeline.opportunity.lost": lambda _e: OPPORTUNITIES_CLOSED.labels("lost").inc(),
    "salesgrid.contracts.receipt.recorded": _receipt,
}


def count_published(envelope: Envelope) -> None:
    """Count one committed event JetStream acknowledged (called by the outbox relay only)."""
    counter = _BY_TYPE.get(envelope.type)
    if counter is None and envelope.type.endswith(".export.completed"):  # every service's exports
        counter = _export
    if counter is not None:
        counter(envelope)


def count_import_rows(created: int, failed: int) -> None:
    """A committed import batch (customers' import runner)."""
    IMPORT_ROWS.labels("created").inc(max(created, 0))
    IMPORT_ROWS.labels("failed").inc(max(failed, 0))


def count_import_completed() -> None:
    """An import job marked done (by the one replica whose update did it)."""
    IMPORTS_COMPLETED.inc()
