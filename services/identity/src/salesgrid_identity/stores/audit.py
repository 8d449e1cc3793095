"""The audit-trail store: the one mapping between an `audit_events` row and the domain
AuditEntry (`entry_from_row` / `entry_to_row`), the append and the filtered, newest-first page
(entries are never updated or deleted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.paging import count_if_asked
from salesgrid_identity import models
from salesgrid_identity.domain.audit import AuditEntry

Row = models.AuditEntry

# Built once, values bound at execution: every write of every service reaches it through the
# audit consumers, and a statement with its values inside costs a cache key per call.
_INSERT = insert(Row.__table__)


def entry_from_row(row: Row) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        occurred_at=row.occurred_at,
        actor_id=row.actor_id,
        action=row.action,
        actor_ip=row.actor_ip,
        target_type=row.target_type,
        target_id=row.target_id,
        outcome=row.outcome,
        detail=row.detail,
        source=row.source,
        event_id=row.event_id,
    )


def entry_to_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "occurred_at": entry.occurred_at,
        "actor_id": entry.actor_id,
        "actor_ip": entry.actor_ip,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "outcome": entry.outcome,
        "detail": entry.detail,
        "source": entry.source,
        "event_id": entry.event_id,
    }


async def append_entry(session: AsyncSession, entry: AuditEntry) -> None:
    """One plain INSERT (the ORM's unit of work cost more than the statement itself)."""
    await session.execute(_INSERT, entry_to_row(entry))


async def append_entries(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Many entries in one execution (the audit consumers' batches)."""
    if entries:
        await session.execute(_INSERT, [entry_to_row(entry) for entry in entries])


async def entries_page(
    session: AsyncSession,
    *,
    actor_id: str,
    action: str,
    target_id: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before_id: str,
) -> list[AuditEntry]:
    """Up to `limit` entries matching the filters, newest first, older than `before_id` (the
    paging key); the total of the filtered trail is counted when the call asked for it."""
    stmt = select(Row).order_by(Row.id.desc()).limit(limit)
    if actor_id:
        stmt = stmt.where(Row.actor_id == actor_id)
    if action:
        stmt = stmt.where(Row.action.startswith(action))
    if target_id:
        stmt = stmt.where(Row.target_id == target_id)
    if since:
        stmt = stmt.where(Row.occurred_at >= since)
    if until:
        stmt = stmt.where(Row.occurred_at < until)
    await count_if_asked(session, stmt)
    if before_id:
        stmt = stmt.where(Row.id < before_id)
    return [entry_from_row(row) for row in (await session.scalars(stmt)).all()]
