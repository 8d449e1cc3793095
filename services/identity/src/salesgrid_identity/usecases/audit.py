"""Audit use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal, Scope
from salesgrid_common.clock import Clock
from salesgrid_common.errors import PermissionDenied, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import count_if_asked
from salesgrid_identity.models import AuditEntry

from salesgrid_identity.usecases._support import IdentityUseCasesBase


# Built once, values bound at execution: a statement with its values inside costs SQLAlchemy a
# cache key computed from them on every call.
_INSERT_ENTRY = insert(AuditEntry.__table__)


def _entry(
    clock: Clock,
    action: str,
    actor_id: str,
    actor_ip: str = "",
    target_type: str = "",
    target_id: str = "",
    outcome: str = "success",
    detail: str = "",
    source: str = "identity",
    event_id: str | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "occurred_at": occurred_at or clock(),
        "actor_id": actor_id,
        "actor_ip": actor_ip,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "outcome": outcome,
        "detail": detail[:4000],
        "source": source,
        "event_id": event_id,
    }


class AuditMixin(IdentityUseCasesBase):
    """IdentityUseCases: audit."""

    async def audit(
        self,
        session: AsyncSession,
        action: str,
        *,
        actor_id: str,
        actor_ip: str = "",
        target_type: str = "",
        target_id: str = "",
        outcome: str = "success",
        detail: str = "",
        source: str = "identity",
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> str:
        # One plain INSERT: every write of every service reaches this through identity's audit
        # consumers, and the ORM's unit of work cost more than the statement itself.
        entry = _entry(
            self.clock,
            action,
            actor_id,
            actor_ip,
            target_type,
            target_id,
            outcome,
            detail,
            source,
            event_id,
            occurred_at,
        )
        await session.execute(_INSERT_ENTRY, entry)
        return str(entry["id"])

    async def audit_many(self, session: AsyncSession, entries: Sequence[Mapping[str, Any]]) -> None:
        """`audit` for many entries (each the keyword arguments of one call) in one execution:
        the audit consumers' batches."""
        if entries:
            await session.execute(_INSERT_ENTRY, [_entry(self.clock, **entry) for entry in entries])

    async def record_audit(
        self, principal: Principal, action: str, target_type: str, target_id: str, detail: str, client_ip: str
    ) -> str:
        if not action or len(action) > 200:
            raise ValidationFailed("must be 1-200 characters", "action")
        async with self.sessions() as session, session.begin():
            return await self.audit(
                session,
                action,
                actor_id=principal.subject_id,
                actor_ip=client_ip or principal.client_ip,
                target_type=target_type,
                target_id=target_id,
                detail=detail,
                source="gateway",
            )

    async def list_audit(
        self,
        principal: Principal,
        *,
        actor_id: str,
        action: str,
        target_id: str,
        since: datetime | None,
        until: datetime | None,
        page_size: int,
        after: str,
    ) -> tuple[list[AuditEntry], str]:
        if principal.require("audit:read") is not Scope.ALL:
            raise PermissionDenied("the audit trail is for company-wide administrators and auditors")
        if since and until and until < since:
            raise ValidationFailed("must not be before since", "until")
        page_size = max(1, min(page_size or 50, 500))
        async with self.reader() as session:
            stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(page_size + 1)
            if actor_id:
                stmt = stmt.where(AuditEntry.actor_id == actor_id)
            if action:
                stmt = stmt.where(AuditEntry.action.startswith(action))
            if target_id:
                stmt = stmt.where(AuditEntry.target_id == target_id)
            if since:
                stmt = stmt.where(AuditEntry.occurred_at >= since)
            if until:
                stmt = stmt.where(AuditEntry.occurred_at < until)
            await count_if_asked(session, stmt)  # the total, when the call asked for it
            if after:
                stmt = stmt.where(AuditEntry.id < after)
            rows = list((await session.scalars(stmt)).all())
        next_token = rows[page_size - 1].id if len(rows) > page_size else ""
        return rows[:page_size], next_token
