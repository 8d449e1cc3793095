"""Expenses use cases: what every topic module shares (loading a claim within the caller's scope,
events; the claim's rows are mapped in stores.claims). Each use case runs in one transaction, checks the caller's
permission and data scope, applies the domain rules and writes its events to the outbox in that
same transaction. The topics: claims (drafts, receipts, reads), approval (submit, decide, pay),
policy (the units' policies) and reminders (overdue approval steps)."""

from __future__ import annotations

from datetime import date, datetime

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.localtime import user_calendar
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_common.events.outbox import Outbox
from salesgrid_expenses import claim_events
from salesgrid_expenses.domain.claims import ExpenseClaim
from salesgrid_expenses.links_client import LinksClient
from salesgrid_expenses.stores.approval_steps import is_approver
from salesgrid_expenses.stores.claims import load_claim

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
        await self.outbox.record_by(
            session, verb, payload, principal, aggregate_id=aggregate_id, org_path=org_path, occurred_at=now
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
    ) -> ExpenseClaim:
        """The claim, without its lines (claim_view reads them), if the caller may see it (else
        NotFound: no hint that it exists) and `permission` covers it (else PermissionDenied)."""
        claim = await load_claim(session, claim_id, lock=lock)
        if claim is None or not (
            principal.can_see(READ, claim.owner_id, claim.org_path)
            or await self._is_approver(session, principal, claim)
        ):
            raise NotFound(f"expense claim {claim_id} not found", "id")
        if permission != READ and not principal.can_see(permission, claim.owner_id, claim.org_path):
            raise PermissionDenied(f"{permission} does not cover this claim")
        self._check_version(claim, expected_version)
        return claim

    @staticmethod
    def _check_version(claim: ExpenseClaim, expected_version: int) -> None:
        if expected_version and expected_version != claim.version:
            raise Conflict.stale_version(
                f"expense claim {claim.id} is at version {claim.version}, not {expected_version}",
                "version",
                current=claim.version,
                sent=expected_version,
            )

    @staticmethod
    async def _is_approver(session: AsyncSession, principal: Principal, claim: ExpenseClaim) -> bool:
        """An approver of the claim reads it (to decide) whatever his read scope."""
        if principal.scope_for(APPROVE) is None:
            return False
        return await is_approver(session, claim.id, principal.subject_id)

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
