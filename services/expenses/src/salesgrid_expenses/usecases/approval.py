"""Submitting a claim (receipts and daily limits checked), approval up the owner's management
chain through the shared flow (salesgrid_common.approval), and payment."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import approval
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import FailedPrecondition, NotFound
from salesgrid_expenses import claim_events
from salesgrid_expenses.domain import claims
from salesgrid_expenses.domain import policy as rules
from salesgrid_expenses.domain.claims import ClaimStatus, ExpenseClaim
from salesgrid_expenses.stores.approval_steps import insert_steps, step_from_row, step_rows
from salesgrid_expenses.stores.claims import (
    ClaimView,
    already_claimed,
    claim_view,
    load_claim,
    lock_owners_claims,
    save_claim,
)
from salesgrid_expenses.usecases._support import APPROVE, PAY, UPDATE, ExpensesUseCasesBase
from salesgrid_expenses.usecases.policy import policy_in_force


class ApprovalMixin(ExpensesUseCasesBase):
    async def _step_event(
        self,
        session: AsyncSession,
        verb: str,
        claim: ExpenseClaim,
        step: approval.ApprovalStep,
        principal: Principal,
        now: datetime,
    ) -> None:
        await self._event(
            session,
            f"approval.step_{verb}",
            claim_events.approval_step(claim, step),
            claim.id,
            principal,
            claim.org_path,
            now,
        )

    async def submit(self, principal: Principal, claim_id: str, expected_version: int = 0) -> ClaimView:
        principal.require(UPDATE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            # Two claims of one person submitted at once must not both pass a daily limit: his
            # claims are locked together, in id order (no deadlock), before anything is summed.
            await lock_owners_claims(session, principal.subject_id)
            view = await claim_view(
                session,
                await self._load(session, principal, claim_id, UPDATE, lock=True, expected_version=expected_version),
            )
            claim = view.claim
            if claim.owner_id != principal.subject_id:
                raise FailedPrecondition("only the person who filed the claim submits it", "id")
            per_line: dict[int, int] = defaultdict(int)
            for receipt in view.receipts:
                per_line[receipt.line_no] += 1
            claims.check_submittable(claim.status, claim.lines, per_line)
            policy = await policy_in_force(session, claim.org_path)
            already = await already_claimed(session, claim.owner_id, {line.spent_on for line in claim.lines}, claim.id)
            rules.check_daily_limits(policy, claim.currency, claim.lines, already)
            roles = rules.approver_roles(policy, claim.total, claim.currency)
            chain = await management_chain(session, claim.owner_id, claim.owner_id)
            flow = approval.start_approval(approval.route_roles(roles, claim.owner_id, chain), now)
            insert_steps(session, claim, flow.steps)
            submitted = await save_claim(session, claim, claim.submitted(now))
            await session.flush()
            await self._claim_event(session, "submitted", submitted, principal, now)
            await self._step_event(session, "activated", submitted, flow.steps[0], principal, now)
            return ClaimView(submitted, view.receipts, flow.steps)

    @staticmethod
    def _flow(view: ClaimView) -> approval.ApprovalFlow:
        claim = view.claim
        if claim.approval_started_at is None or claim.status is not ClaimStatus.SUBMITTED:
            raise FailedPrecondition(f"the claim is {claim.status.value}: nothing to decide", "status")
        return approval.ApprovalFlow(view.steps, approval.FlowStatus.PENDING, claim.approval_started_at)

    async def decide(
        self, principal: Principal, claim_id: str, *, approve: bool, comment: str, expected_version: int = 0
    ) -> ClaimView:
        """The current approver approves or rejects; the last approval or any rejection settles
        the claim. The owner never decides on his own claim (he is never on its chain)."""
        principal.require(APPROVE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            loaded = await load_claim(session, claim_id, lock=True)
            if loaded is None:
                raise NotFound(f"expense claim {claim_id} not found", "id")
            self._check_version(loaded, expected_version)
            view = await claim_view(session, loaded)
            claim = view.claim
            if claim.owner_id == principal.subject_id:
                raise FailedPrecondition("nobody approves his own expense claim", "id")
            flow = self._flow(view)
            flow = (
                approval.approve_step(flow, principal.subject_id, now, comment or None)
                if approve
                else approval.reject_step(flow, principal.subject_id, comment, now)
            )
            for stored, verb in approval.store_steps(flow, await step_rows(session, claim.id)):
                await self._step_event(session, verb, claim, step_from_row(stored), principal, now)
            settled = flow.status is not approval.FlowStatus.PENDING
            decided = await save_claim(session, claim, claim.decided(approve, now) if settled else claim)
            await session.flush()
            view = await claim_view(session, decided)
            if settled:
                await self._claim_event(session, decided.status.value, view.claim, principal, now, comment)
            return view

    async def pay(
        self, principal: Principal, claim_id: str, paid_on: str, reference: str, expected_version: int = 0
    ) -> ClaimView:
        principal.require(PAY)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            view = await claim_view(
                session,
                await self._load(session, principal, claim_id, PAY, lock=True, expected_version=expected_version),
            )
            claim = view.claim
            if claim.owner_id == principal.subject_id:
                raise FailedPrecondition("nobody pays out his own expense claim", "id")
            approved_on = await self._local_today(session, claim.owner_id, claim.decided_at or now)
            paid_on = claims.check_payable(claim.status, paid_on, reference, approved_on)
            paid = await save_claim(session, claim, claim.paid(paid_on, reference))
            await session.flush()
            await self._claim_event(session, "paid", paid, principal, now)
            return ClaimView(paid, view.receipts, view.steps)
