"""Audit use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.errors import PermissionDenied, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_identity.domain.audit import DETAIL_LIMIT, AuditEntry
from salesgrid_identity.stores.audit import append_entries, append_entry, entries_page

from salesgrid_identity.usecases._support import IdentityUseCasesBase


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
        # Every write of every service reaches this through identity's audit consumers.
        entry = self._entry(
            action,
            actor_id=actor_id,
            actor_ip=actor_ip,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail,
            source=source,
            event_id=event_id,
            occurred_at=occurred_at,
        )
        await append_entry(session, entry)
        return entry.id

    async def audit_by(
        self,
        session: AsyncSession,
        principal: Principal,
        action: str,
        target_type: str,
        target_id: str,
        *,
        detail: str = "",
    ) -> str:
        """`audit` of a change the caller made to a record of this service (a user, a unit, a
        role, an API key): the caller is the actor, its address the actor's."""
        return await self.audit(
            session,
            action,
            actor_id=principal.subject_id,
            actor_ip=principal.client_ip,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )

    async def audit_many(self, session: AsyncSession, entries: Sequence[Mapping[str, Any]]) -> None:
        """`audit` for many entries (each the keyword arguments of one call) in one execution:
        the audit consumers' batches."""
        await append_entries(session, [self._entry(**entry) for entry in entries])

    def _entry(
        self,
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
    ) -> AuditEntry:
        return AuditEntry(
            id=new_id(),
            occurred_at=occurred_at or self.clock(),
            actor_id=actor_id,
            action=action,
            actor_ip=actor_ip,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail[:DETAIL_LIMIT],
            source=source,
            event_id=event_id,
        )

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
            rows = await entries_page(
                session,
                actor_id=actor_id,
                action=action,
                target_id=target_id,
                since=since,
                until=until,
                limit=page_size + 1,
                before_id=after,
            )
        next_token = rows[page_size - 1].id if len(rows) > page_size else ""
        return rows[:page_size], next_token
