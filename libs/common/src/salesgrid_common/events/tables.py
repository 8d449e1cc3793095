"""Tables every event-producing or -consuming service carries in its own database."""

from __future__ import annotations

from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, Text

from salesgrid_common.db import UtcDateTime

event_metadata = MetaData()

# Written in the same transaction as the change it describes; the relay deletes nothing it has
# not seen acknowledged, so a crash at any point leaves the row to be published again.
outbox = Table(
    "outbox",
    event_metadata,
    Column("event_id", String(36), primary_key=True),  # UUIDv7: orders rows by creation
    Column("subject", String(200), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
)

# One row per (consumer, event) applied, written in the handler's transaction: a redelivered
# or duplicated event finds its row and is skipped.
inbox = Table(
    "inbox",
    event_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("event_type", String(200), nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False),
)

# What still failed after bounded redelivery, kept for operators to inspect and replay.
dead_letters = Table(
    "dead_letters",
    event_metadata,
    Column("id", String(36), primary_key=True),
    Column("consumer", String(100), nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("failed_at", UtcDateTime(), nullable=False),
)

# Deliveries of one event that a consumer started handling again after a redelivery (committed
# before the handler runs): a process that keeps dying inside a handler is counted even though
# it never nak'ed, and batch-mates it never reached are not. Deleted once the event is settled.
delivery_attempts = Table(
    "delivery_attempts",
    event_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("attempts", Integer, nullable=False),
)

# The producer's version of each aggregate it published events about: incremented in the
# transaction that records an event, so on one aggregate versions follow commit order. The
# envelope carries it (aggregate_version).
aggregate_versions = Table(
    "aggregate_versions",
    event_metadata,
    Column("aggregate_id", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
)

# The newest aggregate version a consumer's state projection applied, per projected key: an
# older state that arrives late (redelivered after a crash) is ignored.
projection_versions = Table(
    "projection_versions",
    event_metadata,
    Column("projection", String(100), primary_key=True),
    Column("key", String(100), primary_key=True),
    Column("version", Integer, nullable=False),
)
