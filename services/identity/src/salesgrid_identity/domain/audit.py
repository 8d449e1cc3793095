"""An entry of the audit trail: who did what to which record, from where, with what outcome.
Append-only: once written, an entry is never changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

DETAIL_LIMIT = 4000  # longer details are cut


@dataclass(frozen=True)
class AuditEntry:
    id: str  # UUIDv7: also the paging key (newest first)
    occurred_at: datetime
    actor_id: str
    action: str
    actor_ip: str = ""
    target_type: str = ""
    target_id: str = ""
    outcome: str = "success"
    detail: str = ""
    source: str = "identity"
    event_id: str | None = None  # the event an entry was recorded from (at most one entry each)
