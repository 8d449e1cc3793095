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
