"""Stage SLA engine: on time, overdue (remind owner and manager), escalated.

A stage entered at ``entered_at`` with an SLA of N days is due at ``entered_at + N days``; it is
overdue strictly after that instant, and escalated once it is overdue by twice its SLA (i.e. at
``entered_at + 3N days``). The result is idempotent: the caller stores the last level it
notified for this stage entry and passes it back, and only higher levels produce notifications.
A new stage entry starts again from ``SlaLevel.ON_TIME``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from salesgrid_common import zones

from salesgrid_common.validation import require_aware

from .errors import ValidationFailed

ESCALATION_FACTOR = 2  # escalate when overdue by this many SLA periods


class SlaLevel(IntEnum):
    ON_TIME = 0
    OVERDUE = 1
    ESCALATED = 2


@dataclass(frozen=True, slots=True)
class SlaStatus:
    level: SlaLevel
    due_at: datetime
    escalate_at: datetime
    overdue_by: timedelta  # zero when on time


@dataclass(frozen=True, slots=True)
class SlaNotification:
    level: SlaLevel  # OVERDUE = reminder, ESCALATED = escalation
    subject_id: str  # the opportunity (or lead) whose stage is late
    stage_code: str
    recipient_ids: tuple[str, ...]
    due_at: datetime


@dataclass(frozen=True, slots=True)
class SlaCheck:
    status: SlaStatus
    notifications: tuple[SlaNotification, ...]
    level_notified: SlaLevel  # store this; pass it back as ``last_level_notified`` next time


def sla_status(entered_at: datetime, sla_days: int, now: datetime, zone_name: str = zones.DEFAULT_ZONE) -> SlaStatus:
    """Where a stage entry stands against its SLA at ``now``. SLA days are days on the owner's
    branch calendar (``zone_name``): due at the same local wall time ``sla_days`` days later."""
    require_aware(entered_at, "entered_at")
    require_aware(now, "now")
    if isinstance(sla_days, bool) or not isinstance(sla_days, int) or sla_days <= 0:
        raise ValidationFailed("must be a positive number of days", "sla_days")
    due_at = zones.add_local_days(entered_at, sla_days, zone_name)
    escalate_at = zones.add_local_days(due_at, ESCALATION_FACTOR * sla_days, zone_name)
    if now >= escalate_at:
        level = SlaLevel.ESCALATED
    elif now > due_at:
        level = SlaLevel.OVERDUE
    else:
        level = SlaLevel.ON_TIME
    return SlaStatus(level, due_at, escalate_at, max(now - due_at, timedelta(0)))


def due_notifications(
    *,
    subject_id: str,
    stage_code: str,
    entered_at: datetime,
    sla_days: int | None,
    now: datetime,
    owner_id: str,
    manager_id: str | None,
    escalation_ids: tuple[str, ...] = (),
    last_level_notified: SlaLevel = SlaLevel.ON_TIME,
    zone_name: str = zones.DEFAULT_ZONE,
) -> SlaCheck:
    """Notifications now due for one stage entry, given the last level already notified.

    Overdue reminds the owner and the manager; escalation adds ``escalation_ids`` (e.g. the
    manager's manager). If a run was missed and the stage is already escalated, only the
    escalation is sent: it supersedes the reminder. Terminal stages (``sla_days`` None) are
    never late.
    """
    if sla_days is None:
        require_aware(now, "now")
        status = SlaStatus(SlaLevel.ON_TIME, now, now, timedelta(0))
        return SlaCheck(status, (), last_level_notified)
    status = sla_status(entered_at, sla_days, now, zone_name)
    if status.level <= last_level_notified:
        return SlaCheck(status, (), last_level_notified)
    recipients = [owner_id, manager_id or ""]
    if status.level is SlaLevel.ESCALATED:
        recipients += list(escalation_ids)
    unique = tuple(dict.fromkeys(r for r in recipients if r))
    notification = SlaNotification(status.level, subject_id, stage_code, unique, status.due_at)
    return SlaCheck(status, (notification,), status.level)
