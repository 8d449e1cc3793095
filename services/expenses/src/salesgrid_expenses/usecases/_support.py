"""Expenses use cases: what every topic module shares (loading a claim within the caller's scope,
its view, domain objects, events). Each use case runs in one transaction, checks the caller's
permission and data scope, applies the domain rules and writes its events to the outbox in that
same transaction. The topics: claims (drafts, receipts, reads), approval (submit, decide, pay),
policy (the units' policies) and reminders (overdue approval steps)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.orm import defer
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState, ExpensesLineState
from salesgrid_common.auth import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.localtime import user_calendar
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_expenses import models
from salesgrid_expenses.links_client import LinksClient
from salesgrid_expenses.domain.claims import Category, ClaimStatus, ExpenseLine

READ, CREATE, UPDATE, APPROVE, PAY = (
    "expenses:read",
    "expenses:create",
    "expenses:update",
    "expenses:approve",
    "expenses:pay",
)


@dataclass(frozen=True)
class ClaimView:
    row: models.Claim
    lines: list[models.ClaimLine]
    receipts: list[models.ReceiptRow]
    steps: list[models.ApprovalStepRow]


def domain_lines(lines: list[models.ClaimLine]) -> tuple[ExpenseLine, ...]:
    return tuple(
        ExpenseLine(
            line.line_no,
            Category(line.category),
            line.spent_on,
            line.amount,
            line.description,
            line.visit_id,
            line.customer_id,
            line.opportunity_id,
        )
        for line in lines
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

    @staticmethod
    async def _views(session: AsyncSession, rows: Sequence[models.Claim]) -> list[ClaimView]:
        """Claims with their lines, receipts (metadata only: the file stays in the database until
        downloaded) and approval steps, in three queries whatever the number of claims."""
        ids = [row.id for row in rows]
        lines: dict[str, list[models.ClaimLine]] = defaultdict(list)
        receipts: dict[str, list[models.ReceiptRow]] = defaultdict(list)
        steps: dict[str, list[models.ApprovalStepRow]] = defaultdict(list)
        for line in await session.scalars(
            select(models.ClaimLine).where(models.ClaimLine.claim_id.in_(ids)).order_by(models.ClaimLine.line_no)
        ):
            lines[line.claim_id].append(line)
        for receipt in await session.scalars(
            select(models.ReceiptRow)
            .options(defer(models.ReceiptRow.content))
            .where(models.ReceiptRow.claim_id.in_(ids))
            .order_by(models.ReceiptRow.id)
        ):
            receipts[receipt.claim_id].append(receipt)
        for step in await session.scalars(
            select(models.ApprovalStepRow)
            .where(models.ApprovalStepRow.claim_id.in_(ids))
            .order_by(models.ApprovalStepRow.step_order)
        ):
            steps[step.claim_id].append(step)
        return [ClaimView(row, lines[row.id], receipts[row.id], steps[row.id]) for row in rows]

    @classmethod
    async def _view(cls, session: AsyncSession, row: models.Claim) -> ClaimView:
        return (await cls._views(session, [row]))[0]

    @staticmethod
    async def _row(session: AsyncSession, claim_id: str, *, lock: bool = False) -> models.Claim | None:
        query = select(models.Claim).where(models.Claim.id == claim_id)
        return await session.scalar(query.with_for_update() if lock else query)

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
        row = await self._row(session, claim_id, lock=lock)
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
            raise Conflict(f"expense claim {row.id} is at version {row.version}, not {expected_version}", "version")

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

    @staticmethod
    def _state(view: ClaimView, comment: str = "") -> ExpensesClaimState:
        row = view.row
        return ExpensesClaimState(
            claim_id=row.id,
            owner_id=row.owner_id,
            org_path=row.org_path,
            currency=row.currency,
            total=str(row.total),
            status=row.status,
            comment=comment,
            version=row.version,
            paid_on=row.paid_on.isoformat() if row.paid_on else "",
            lines=[
                ExpensesLineState(
                    line_no=line.line_no,
                    category=line.category,
                    spent_on=line.spent_on.isoformat(),
                    amount=str(line.amount),
                    visit_id=line.visit_id,
                    customer_id=line.customer_id,
                    opportunity_id=line.opportunity_id,
                )
                for line in view.lines
            ],
        )

    async def _claim_event(
        self, session: AsyncSession, verb: str, view: ClaimView, principal: Principal, now: datetime, comment: str = ""
    ) -> None:
        await self._event(
            session, f"claim.{verb}", self._state(view, comment), view.row.id, principal, view.row.org_path, now
        )

    @staticmethod
    def status(row: models.Claim) -> ClaimStatus:
        return ClaimStatus(row.status)
