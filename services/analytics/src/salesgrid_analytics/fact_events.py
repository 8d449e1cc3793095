"""What every fact takes from the event it comes from: its id, when it happened, and whose record
it is about (the event's org path when the payload carries none)."""

from __future__ import annotations

from datetime import datetime

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.protos import from_timestamp


def when(envelope: Envelope) -> datetime:
    return from_timestamp(envelope.occurred_at)


def common(envelope: Envelope, owner_id: str, org_path: str) -> dict[str, object]:
    return {
        "event_id": envelope.event_id,
        "occurred_at": when(envelope),
        "owner_id": owner_id,
        "org_path": org_path or envelope.org_path or "/",
    }
