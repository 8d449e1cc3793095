"""The per-user inbox: what each notice raised elsewhere means for the people it concerns.

Each builder turns one event's facts into a Notice (notices.py: the kinds and their parameters;
notices_sales.py and notices_team.py: the builders, by the part of the business that raises
them); this module names them all in one place. Recipients each get their own InboxItem (own read
state); the record owner's copy is the canonical one for team views ("a manager sees his team's
escalations")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .notices import KINDS, PARAMS, Notice, check_kind
from .notices_sales import (
    POOL_RULES,
    discount_approval,
    discount_settled,
    instalment_overdue,
    ownership_decided,
    pool_return_warning,
    share_request_decided,
    share_requested,
    sla_notice,
)
from .notices_team import (
    announcement,
    expense_approval,
    expense_settled,
    spot_check_assigned,
    spot_check_false,
    task_overdue,
    task_reminder,
    webhook_disabled,
)

__all__ = [
    "KINDS",
    "PARAMS",
    "POOL_RULES",
    "InboxItem",
    "Notice",
    "check_kind",
    "sla_notice",
    "pool_return_warning",
    "ownership_decided",
    "share_requested",
    "share_request_decided",
    "instalment_overdue",
    "task_reminder",
    "task_overdue",
    "expense_approval",
    "expense_settled",
    "announcement",
    "spot_check_assigned",
    "spot_check_false",
    "webhook_disabled",
    "discount_approval",
    "discount_settled",
]


@dataclass(frozen=True)
class InboxItem:
    """One notice as one recipient (`owner_id`) holds it, with his own read state."""

    id: str
    owner_id: str
    org_path: str
    kind: str
    title: str
    params: Mapping[str, str]
    record_type: str
    record_id: str
    subject_owner_id: str
    event_id: str
    occurred_at: datetime
    read_at: datetime | None = None
