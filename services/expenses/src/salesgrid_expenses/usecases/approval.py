"""Submitting a claim (receipts and daily limits checked), approval up the owner's management
chain through the shared flow (salesgrid_common.approval), and payment."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep
from salesgrid_common import approval
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth import Principal
from salesgrid_common.errors import FailedPrecondition, NotFound
from salesgrid_expenses import models
from salesgrid_expenses.domain import claims
from salesgrid_expenses.domain import policy as rules
from salesgrid_expenses.domain.claims import COUNTED, Category, ClaimStatus
from salesgrid_expenses.usecases._support import APPROVE, PAY, UPDATE, ClaimView, ExpensesUseCasesBase, domain_lines
from salesgrid_expenses.usecases.policy import policy_in_force


class ApprovalMixin(ExpensesUseCasesBase):
    async def _already_claimed(
        self, session: AsyncSession, owner_id: str, days: set[date], exclude_claim: str
    ) -> dict[tuple[date, Category], Decimal]:
        """What the owner already claimed per (day, category) in his counted claims."""
        rows = await session.execute(
            select(models.ClaimLine.spent_on, models.ClaimLine.category, models.ClaimLine.amount)
            .join(models.Claim, models.Claim.id == models.ClaimLine.claim_id)
            .where(
                models.ClaimLine.owner_id == owner_id,
                models.ClaimLine.spent_on.in_(days),
                models.Claim.id != exclude_claim,
                models.Claim.status.in_([s.value for s in COUNTED]),
            )
        )
        sums: dict[tuple[date, Category], Decimal] = defaultdict(Decimal)
        for spent_on, category, amount in rows:  # summed in Decimal: amounts are exact text
            sums[(spent_on, Category(category))] += amount
        return sums

    async def _step_event(
        self,
        session: AsyncSession,
        verb: str,
        row: models.Claim,
        step: models.ApprovalStepRow,
        principal: Principal,
        now: datetime,
    ) -> None:
        await self._event(
            session,
            f"approval.step_{verb}",
            ExpensesApprovalStep(
                claim_id=row.id,
                step_order=step.step_order,
                role=step.role,
                approver_id=step.approver_id,
                status=step.status,
                comment=step.comment or "",
                owner_id=row.owner_id,
                total=str(row.total),
                currency=row.currency,
            ),
            row.id,
            principal,
            row.org_path,
            now,
        )

    async def submit(self, principal: Principal, claim_id: str, expected_version: int = 0) -> ClaimView:
        principal.require(UPDATE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            # Two claims of one person submitted at once must not both pass a daily limit: his
            # claims are locked together, in id order (no deadlock), before anything is summed.
            await session.execute(
                select(models.Claim.id)
                .where(models.Claim.owner_id == principal.subject_id)
                .order_by(models.Claim.id)
                .with_for_update()
            )
            row = await self._load(session, principal, claim_id, UPDATE, lock=True, expected_version=expected_version)
            if row.owner_id != principal.subject_id:
                raise FailedPrecondition("only the person who filed the claim submits it", "id")
            view = await self._view(session, row)
            lines = domain_lines(view.lines)
            per_line: dict[int, int] = defaultdict(int)
            for receipt in view.receipts:
                per_line[receipt.line_no] += 1
            claims.check_submittable(self.status(row), lines, per_line)
            policy = await policy_in_force(session, row.org_path)
            already = await self._already_claimed(session, row.owner_id, {line.spent_on for line in lines}, row.id)
            rules.check_daily_limits(policy, row.currency, lines, already)
            roles = rules.approver_roles(policy, row.total, row.currency)
            chain = await management_chain(session, row.owner_id, row.owner_id)
            flow = approval.start_approval(approval.route_roles(roles, row.owner_id, chain), now)
            stored = [
                models.ApprovalStepRow(
                    claim_id=row.id,
                    step_order=s.order,
                    role=s.role,
                    approver_id=s.approver_id,
                    status=s.status.value,
                    activated_at=s.activated_at,
                )
                for s in flow.steps
            ]
            session.add_all(stored)
            row.status, row.submitted_at, row.approval_started_at = ClaimStatus.SUBMITTED.value, now, now
            row.version += 1
            await session.flush()
            view = await self._view(session, row)
            await self._claim_event(session, "submitted", view, principal, now)
            await self._step_event(session, "activated", row, stored[0], principal, now)
            return view

    @staticmethod
    def _flow(view: ClaimView) -> approval.ApprovalFlow:
        if view.row.approval_started_at is None or view.row.status != ClaimStatus.SUBMITTED.value:
            raise FailedPrecondition(f"the claim is {view.row.status}: nothing to decide", "status")
        steps = tuple(
            approval.ApprovalStep(
                order=s.step_order,
                role=s.role,
                approver_id=s.approver_id,
                status=approval.StepStatus(s.status),
                activated_at=s.activated_at,
                decided_at=s.decided_at,
                comment=s.comment,
            )
            for s in view.steps
        )
        return approval.ApprovalFlow(steps, approval.FlowStatus.PENDING, view.row.approval_started_at)

    async def decide(
        self, principal: Principal, claim_id: str, *, approve: bool, comment: str, expected_version: int = 0
    ) -> ClaimView:
        """The current approver approves or rejects; the last approval or any rejection settles
        the claim. The owner never decides on his own claim (he is never on its chain)."""
        principal.require(APPROVE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._row(session, claim_id, lock=True)
            if row is None:
                raise NotFound(f"expense claim {claim_id} not found", "id")
            self._check_version(row, expected_version)
            if row.owner_id == principal.subject_id:
                raise FailedPrecondition("nobody approves his own expense claim", "id")
            view = await self._view(session, row)
            flow = self._flow(view)
            flow = (
                approval.approve_step(flow, principal.subject_id, now, comment or None)
                if approve
                else approval.reject_step(flow, principal.subject_id, comment, now)
            )
            for stored, verb in approval.store_steps(flow, {s.step_order: s for s in view.steps}):
                await self._step_event(session, verb, row, stored, principal, now)
            row.version += 1
            if flow.status is not approval.FlowStatus.PENDING:
                row.status = (ClaimStatus.APPROVED if approve else ClaimStatus.REJECTED).value
                row.decided_at = now
            await session.flush()
            view = await self._view(session, row)
            if flow.status is not approval.FlowStatus.PENDING:
                await self._claim_event(session, row.status, view, principal, now, comment)
            return view

    async def pay(
        self, principal: Principal, claim_id: str, paid_on: str, reference: str, expected_version: int = 0
    ) -> ClaimView:
        principal.require(PAY)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._load(session, principal, claim_id, PAY, lock=True, expected_version=expected_version)
            if row.owner_id == principal.subject_id:
                raise FailedPrecondition("nobody pays out his own expense claim", "id")
            approved_on = await self._local_today(session, row.owner_id, row.decided_at or now)
            row.paid_on = claims.check_payable(self.status(row), paid_on, reference, approved_on)
            row.payment_reference = reference.strip()
            row.status, row.version = ClaimStatus.PAID.value, row.version + 1
            await session.flush()
            view = await self._view(session, row)
            await self._claim_event(session, "paid", view, principal, now)
            return view
