"""Special-discount approval (特批折扣) use cases: routing a deeply discounted quote up the
creator's management chain when it is issued (salesgrid_common.approval, as contracts and
expense claims do), the approvers' decisions, their inbox, and the units' thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import approval
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_common.errors import FailedPrecondition, ValidationFailed
from salesgrid_pipeline.domain import discounts
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.domain import quotes as quote_rules
from salesgrid_pipeline.payloads import discount_policy_set, discount_step
from salesgrid_pipeline.stores import discount_policies as policy_store
from salesgrid_pipeline.stores import quotes as quote_store
from salesgrid_pipeline.stores import opportunities as opportunity_store
from salesgrid_pipeline.usecases._support import PipelineUseCasesBase

QUOTE_APPROVE = "quotes:approve"
APPROVAL_REMINDER_AFTER = timedelta(hours=24)  # a pending step reminds its approver after this wait


def _unit_path(org_path: str) -> list[str]:
    """The units of a path, the unit itself first, then its ancestors."""
    return [unit for unit in reversed(org_path.split("/")) if unit]


class DiscountsMixin(PipelineUseCasesBase):
    """PipelineUseCases: special-discount approval."""

    async def _policy_in_force(self, session: AsyncSession, org_path: str) -> discounts.DiscountPolicy:
        path = _unit_path(org_path)
        return discounts.policy_for_unit(path, await policy_store.own_policies(session, path))

    async def _step_event(
        self,
        session: AsyncSession,
        verb: str,
        quote: quote_rules.Quote,
        step: approval.ApprovalStep,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        await self._emit(
            session,
            f"discount_approval.step_{verb}",
            discount_step(quote, step),
            quote.quote_id,
            quote.org_path,
            principal,
            now,
        )

    async def _route_discount(
        self,
        session: AsyncSession,
        principal: Principal,
        quote: quote_rules.Quote,
        opportunity: Opportunity,
        now: datetime,
    ) -> quote_rules.Quote:
        """Called as a quote version is issued (in its transaction, after it is inserted): a rate
        past the unit's threshold starts the approval up the creator's chain, which leaves out
        the creator and the opportunity's owner (nobody approves his own discount)."""
        rate = discounts.discount_rate([(p.gross, p.discount) for p in quote.pricing.lines])
        roles = discounts.required_roles(rate, await self._policy_in_force(session, opportunity.org_path))
        if not roles:
            quote = replace(quote, discount_rate=rate, discount_approval=discounts.DiscountApproval.NOT_REQUIRED.value)
            await quote_store.save(session, quote)
            return quote
        chain = await management_chain(session, principal.subject_id, opportunity.owner_id)
        flow = approval.start_approval(approval.route_roles(roles, principal.subject_id, chain), now)
        quote_store.add_steps(session, quote.quote_id, flow.steps)
        quote = replace(
            quote,
            discount_rate=rate,
            discount_approval=discounts.DiscountApproval.PENDING.value,
            approval_started_at=now,
        )
        await quote_store.save(session, quote)
        await self._step_event(session, "activated", quote, flow.steps[0], principal, now)
        return quote

    async def decide_quote_discount(
        self, principal: Principal, quote_id: str, *, approve: bool, comment: str
    ) -> tuple[quote_rules.Quote, list[approval.ApprovalStep]]:
        """The current approver approves or rejects (a comment is required to reject); the last
        approval or any rejection settles the quote's special discount."""
        principal.require(QUOTE_APPROVE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            quote = await quote_store.load(session, quote_id, lock=True, field="quote_id")
            if quote.discount_approval != discounts.DiscountApproval.PENDING.value or quote.approval_started_at is None:
                raise FailedPrecondition(
                    f"the quote's discount has no approval under way ({quote.discount_approval or 'not required'})",
                    "quote_id",
                )
            if quote.status is not quote_rules.QuoteStatus.CURRENT:
                raise FailedPrecondition(
                    f"the quote is {quote.status.value}; only the current version is decided", "quote_id"
                )
            if principal.subject_id in (quote.owner_id, quote.created_by):
                raise FailedPrecondition("nobody approves his own special discount", "quote_id")
            flow = approval.ApprovalFlow(
                tuple(replace(s, reminded_at=None) for s in await quote_store.steps(session, quote.quote_id)),
                approval.FlowStatus.PENDING,
                quote.approval_started_at,
            )
            flow = (
                approval.approve_step(flow, principal.subject_id, now, comment.strip() or None)
                if approve
                else approval.reject_step(flow, principal.subject_id, comment, now)
            )
            steps, happened = await quote_store.save_steps(session, quote.quote_id, flow)
            for step, verb in happened:
                await self._step_event(session, verb, quote, step, principal, now)
            if flow.status is not approval.FlowStatus.PENDING:
                quote = replace(quote, discount_approval=flow.status.value)
                await quote_store.save(session, quote)
                opportunity = await opportunity_store.load(session, quote.opportunity_id, self._models_in(session))
                await self._quote_event(session, f"discount_{flow.status.value}", quote, opportunity, principal, now)
            await session.flush()
            return quote, steps

    async def send_discount_reminders(self, timeout: timedelta = APPROVAL_REMINDER_AFTER) -> int:
        """One scheduler run on the service clock: discount_approval.step_reminded (actor
        system:pipeline) for each current step that has waited `timeout` since its turn or its
        last reminder. The mark is written with the event, so runs are idempotent and concurrent
        replicas skip the rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            for step, quote in await quote_store.due_reminders(session, now, timeout):
                await self._step_event(session, "reminded", quote, step, None, now)
                sent += 1
        return sent

    async def pending_quote_approvals(self, principal: Principal) -> list[quote_rules.Quote]:
        """The current quotes whose special discount waits on the caller's decision."""
        principal.require(QUOTE_APPROVE)
        async with self.sessions() as session:
            return await quote_store.awaiting(session, principal.subject_id)

    async def quote_steps(self, quote_ids: list[str]) -> dict[str, list[approval.ApprovalStep]]:
        """The approval steps of these quotes (for their views)."""
        if not quote_ids:
            return {}
        async with self.sessions() as session:
            return await quote_store.steps_of(session, quote_ids)

    async def _unit_path_of(
        self, session: AsyncSession, principal: Principal, org_unit_id: str, permission: str
    ) -> str:
        unit = org_unit_id.strip()
        if not unit:
            raise ValidationFailed("is required", "org_unit_id")
        return await unit_path_in_scope(session, principal, unit, permission, "org_unit_id")

    async def set_discount_policy(
        self, principal: Principal, org_unit_id: str, threshold_percent: str, director_above_percent: str
    ) -> discounts.DiscountPolicy:
        """An administrator sets a unit's thresholds (its subtree inherits them)."""
        principal.require("org_units:update")
        policy = discounts.new_policy(org_unit_id, threshold_percent, director_above_percent)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            path = await self._unit_path_of(session, principal, policy.org_unit_id, "org_units:update")
            await policy_store.save(session, policy, principal.subject_id, now)
            await self._emit(
                session, "discount_policy.set", discount_policy_set(policy), policy.org_unit_id, path, principal, now
            )
        return policy

    async def get_discount_policy(self, principal: Principal, org_unit_id: str) -> discounts.DiscountPolicy:
        """The policy in force for the unit: its own, an ancestor's or the default."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            path = await self._unit_path_of(session, principal, org_unit_id, "org_units:read")
            return await self._policy_in_force(session, path)
