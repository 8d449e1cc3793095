"""Expenses use cases: what every topic module shares (loading a claim within the caller's scope,
events; the claim's rows are mapped in stores.claims). Each use case runs in one transaction, checks the caller's
permission and data scope, applies the domain rules and writes its events to the outbox in that
same transaction. The topics: claims (drafts, receipts, reads), approval (submit, decide, pay),
policy (the units' policies) and reminders (overdue approval steps)."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.localtime import user_calendar
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_expenses import claim_events, models
from salesgrid_expenses.domain.claims import ExpenseClaim
from salesgrid_expenses.links_client import LinksClient
from salesgrid_expenses.stores.claims import claim_row

READ, CREATE, UPDATE, APPROVE, PAY = (
    "expenses:read",
    "expenses:create",
    "expenses:update",
    "expenses:approve",
    "expenses:pay",
)


class ExpensesUseCasesBase:
    def __init__(
        self, sessions: SessionFactory, outbox: Outbox, clock: Clock, links: LinksClient | None = None
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.links = links  # None: lines linked to customers or opportunities are refused (fail closed)

    async def _event(
        self,
        session: AsyncSession,
        verb: str,
        payload: Message,
        aggregate_id: str,
        principal: Principal | None,
        org_path: str,
        now: datetime,
    ) -> None:
        """`principal` None: the service's own scheduler acted (system:expenses)."""
        await self.outbox.record(
            session,
            f"salesgrid.expenses.{verb}",
            payload,
            EventMeta.acting(principal, "expenses", aggregate_id=aggregate_id, org_path=org_path),
            now,
        )

    @staticmethod
    async def _local_today(session: AsyncSession, owner_id: str, now: datetime) -> date:
        """The day on the calendar of the claimant's branch (the platform's local-calendar rule)."""
        return (await user_calendar(session, owner_id)).today(now)

    async def _load(
        self,
        session: AsyncSession,
        principal: Principal,
        claim_id: str,
        permission: str,
        *,
        lock: bool = False,
        expected_version: int = 0,
    ) -> models.Claim:
        """The claim if the caller may see it (else NotFound: no hint that it exists) and
        `permission` covers it (else PermissionDenied)."""
        row = await claim_row(session, claim_id, lock=lock)
        if row is None or not (
            principal.can_see(READ, row.owner_id, row.org_path) or await self._is_approver(session, principal, row)
        ):
            raise NotFound(f"expense claim {claim_id} not found", "id")
        if permission != READ and not principal.can_see(permission, row.owner_id, row.org_path):
            raise PermissionDenied(f"{permission} does not cover this claim")
        self._check_version(row, expected_version)
        return row

    @staticmethod
    def _check_version(row: models.Claim, expected_version: int) -> None:
        if expected_version and expected_version != row.version:
            raise Conflict.stale_version(
                f"expense claim {row.id} is at version {row.version}, not {expected_version}",
                "version",
                current=row.version,
                sent=expected_version,
            )

    @staticmethod
    async def _is_approver(session: AsyncSession, principal: Principal, row: models.Claim) -> bool:
        """An approver of the claim reads it (to decide) whatever his read scope."""
        if principal.scope_for(APPROVE) is None:
            return False
        found = await session.scalar(
            select(models.ApprovalStepRow.step_order).where(
                models.ApprovalStepRow.claim_id == row.id, models.ApprovalStepRow.approver_id == principal.subject_id
            )
        )
        return found is not None

    async def _claim_event(
        self,
        session: AsyncSession,
        verb: str,
        claim: ExpenseClaim,
        principal: Principal,
        now: datetime,
        comment: str = "",
    ) -> None:
        await self._event(
            session, f"claim.{verb}", claim_events.claim_state(claim, comment), claim.id, principal, claim.org_path, now
        )
