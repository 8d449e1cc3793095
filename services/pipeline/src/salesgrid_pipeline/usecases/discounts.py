"""Special-discount approval (特批折扣) use cases: routing a deeply discounted quote up the
creator's management chain when it is issued (salesgrid_common.approval, as contracts and
expense claims do), the approvers' decisions, their inbox, and the units' thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import PipelineDiscountApprovalStep, PipelineDiscountPolicySet
from salesgrid_common import approval
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_common.errors import FailedPrecondition, NotFound, ValidationFailed
from salesgrid_pipeline.domain import discounts
from salesgrid_pipeline.models import DiscountPolicyRow, Opportunity, Quote, QuoteApprovalStep
from salesgrid_pipeline.usecases._support import PipelineUseCasesBase

QUOTE_APPROVE = "quotes:approve"
APPROVAL_REMINDER_AFTER = timedelta(hours=24)  # a pending step reminds its approver after this wait


def _unit_path(org_path: str) -> list[str]:
    """The units of a path, the unit itself first, then its ancestors."""
    return [unit for unit in reversed(org_path.split("/")) if unit]


def _policy(row: DiscountPolicyRow) -> discounts.DiscountPolicy:
    return discounts.DiscountPolicy(
        row.org_unit_id, Decimal(row.threshold_percent), Decimal(row.director_above_percent)
    )


class DiscountsMixin(PipelineUseCasesBase):
    """PipelineUseCases: special-discount approval."""

    async def _policy_in_force(self, session: AsyncSession, org_path: str) -> discounts.DiscountPolicy:
        path = _unit_path(org_path)
        stored = await session.scalars(select(DiscountPolicyRow).where(DiscountPolicyRow.org_unit_id.in_(path)))
        return discounts.policy_for_unit(path, {row.org_unit_id: _policy(row) for row in stored})

    async def _approval_steps(self, session: AsyncSession, quote_id: str) -> list[QuoteApprovalStep]:
        return list(
            await session.scalars(
                select(QuoteApprovalStep)
                .where(QuoteApprovalStep.quote_id == quote_id)
                .order_by(QuoteApprovalStep.step_order)
            )
        )

    async def _step_event(
        self,
        session: AsyncSession,
        verb: str,
        row: Quote,
        step: QuoteApprovalStep,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        await self._emit(
            session,
            f"discount_approval.step_{verb}",
            PipelineDiscountApprovalStep(
                quote_id=row.id,
                opportunity_id=row.opportunity_id,
                quote_version=row.version,
                step_order=step.step_order,
                role=step.role,
                approver_id=step.approver_id,
                status=step.status,
                comment=step.comment or "",
                owner_id=row.owner_id,
                discount_rate=row.discount_rate,
                submitted_by=row.created_by,
            ),
            row.id,
            row.org_path,
            principal,
            now,
        )

    async def _route_discount(
        self, session: AsyncSession, principal: Principal, row: Quote, opportunity: Opportunity, now: datetime
    ) -> None:
        """Called as a quote version is issued (in its transaction, after it is flushed): a rate
        past the unit's threshold starts the approval up the creator's chain, which leaves out
        the creator and the opportunity's owner (nobody approves his own discount)."""
        rate = discounts.discount_rate([(Decimal(line["gross"]), Decimal(line["discount"])) for line in row.lines])
        row.discount_rate = str(rate)
        roles = discounts.required_roles(rate, await self._policy_in_force(session, opportunity.org_path))
        if not roles:
            row.discount_approval = discounts.DiscountApproval.NOT_REQUIRED.value
            return
        chain = await management_chain(session, principal.subject_id, opportunity.owner_id)
        flow = approval.start_approval(approval.route_roles(roles, principal.subject_id, chain), now)
        stored = [
            QuoteApprovalStep(
                quote_id=row.id,
                step_order=s.order,
                role=s.role,
                approver_id=s.approver_id,
                status=s.status.value,
                activated_at=s.activated_at,
            )
            for s in flow.steps
        ]
        session.add_all(stored)
        row.discount_approval, row.approval_started_at = discounts.DiscountApproval.PENDING.value, now
        await self._step_event(session, "activated", row, stored[0], principal, now)

    async def decide_quote_discount(
        self, principal: Principal, quote_id: str, *, approve: bool, comment: str
    ) -> tuple[Quote, list[QuoteApprovalStep]]:
        """The current approver approves or rejects (a comment is required to reject); the last
        approval or any rejection settles the quote's special discount."""
        principal.require(QUOTE_APPROVE)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(select(Quote).where(Quote.id == quote_id).with_for_update())
            if row is None:
                raise NotFound(f"quote {quote_id!r} does not exist", "quote_id")
            if row.discount_approval != discounts.DiscountApproval.PENDING.value or row.approval_started_at is None:
                raise FailedPrecondition(
                    f"the quote's discount has no approval under way ({row.discount_approval or 'not required'})",
                    "quote_id",
                )
            if row.status != "current":
                raise FailedPrecondition(f"the quote is {row.status}; only the current version is decided", "quote_id")
            if principal.subject_id in (row.owner_id, row.created_by):
                raise FailedPrecondition("nobody approves his own special discount", "quote_id")
            steps = await self._approval_steps(session, row.id)
            flow = approval.ApprovalFlow(
                tuple(
                    approval.ApprovalStep(
                        order=s.step_order,
                        role=s.role,
                        approver_id=s.approver_id,
                        status=approval.StepStatus(s.status),
                        activated_at=s.activated_at,
                        decided_at=s.decided_at,
                        comment=s.comment,
                    )
                    for s in steps
                ),
                approval.FlowStatus.PENDING,
                row.approval_started_at,
            )
            flow = (
                approval.approve_step(flow, principal.subject_id, now, comment.strip() or None)
                if approve
                else approval.reject_step(flow, principal.subject_id, comment, now)
            )
            for stored, verb in approval.store_steps(flow, {s.step_order: s for s in steps}):
                await self._step_event(session, verb, row, stored, principal, now)
            if flow.status is not approval.FlowStatus.PENDING:
                row.discount_approval = flow.status.value
                opportunity = await session.get(Opportunity, row.opportunity_id)
                assert opportunity is not None
                await self._quote_event(session, f"discount_{flow.status.value}", row, opportunity, principal, now)
            await session.flush()
            return row, steps

    async def send_discount_reminders(self, timeout: timedelta = APPROVAL_REMINDER_AFTER) -> int:
        """One scheduler run on the service clock: discount_approval.step_reminded (actor
        system:pipeline) for each current step that has waited `timeout` since its turn or its
        last reminder. The mark is written with the event, so runs are idempotent and concurrent
        replicas skip the rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            pending = (
                select(QuoteApprovalStep, Quote)
                .join(Quote, Quote.id == QuoteApprovalStep.quote_id)
                .where(
                    QuoteApprovalStep.status == "pending",
                    QuoteApprovalStep.activated_at.is_not(None),
                    Quote.status == "current",
                    Quote.discount_approval == discounts.DiscountApproval.PENDING.value,
                )
                .with_for_update(of=QuoteApprovalStep, skip_locked=True)
            )
            for step, row in (await session.execute(pending)).all():
                if not approval.stored_reminder_due(step, now, timeout):
                    continue
                step.reminded_at = now
                await self._step_event(session, "reminded", row, step, None, now)
                sent += 1
        return sent

    async def pending_quote_approvals(self, principal: Principal) -> list[Quote]:
        """The current quotes whose special discount waits on the caller's decision."""
        principal.require(QUOTE_APPROVE)
        async with self.sessions() as session:
            mine = exists().where(
                QuoteApprovalStep.quote_id == Quote.id,
                QuoteApprovalStep.approver_id == principal.subject_id,
                QuoteApprovalStep.status == "pending",
                QuoteApprovalStep.activated_at.is_not(None),
            )
            return list(
                await session.scalars(
                    select(Quote)
                    .where(
                        Quote.status == "current",
                        Quote.discount_approval == discounts.DiscountApproval.PENDING.value,
                        mine,
                    )
                    .order_by(Quote.approval_started_at, Quote.id)
                    .limit(200)
                )
            )

    async def quote_steps(self, quote_ids: list[str]) -> dict[str, list[QuoteApprovalStep]]:
        """The approval steps of these quotes (for their views)."""
        if not quote_ids:
            return {}
        async with self.sessions() as session:
            rows = await session.scalars(
                select(QuoteApprovalStep)
                .where(QuoteApprovalStep.quote_id.in_(quote_ids))
                .order_by(QuoteApprovalStep.quote_id, QuoteApprovalStep.step_order)
            )
            found: dict[str, list[QuoteApprovalStep]] = {}
            for step in rows:
                found.setdefault(step.quote_id, []).append(step)
            return found

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
            values = {
                "threshold_percent": str(policy.threshold_percent),
                "director_above_percent": str(policy.director_above_percent),
                "updated_by": principal.subject_id,
                "updated_at": now,
            }
            stored = await session.get(DiscountPolicyRow, policy.org_unit_id)
            if stored is None:
                session.add(DiscountPolicyRow(org_unit_id=policy.org_unit_id, **values))
            else:
                for name, value in values.items():
                    setattr(stored, name, value)
            await self._emit(
                session,
                "discount_policy.set",
                PipelineDiscountPolicySet(
                    org_unit_id=policy.org_unit_id,
                    threshold_percent=values["threshold_percent"],
                    director_above_percent=values["director_above_percent"],
                ),
                policy.org_unit_id,
                path,
                principal,
                now,
            )
        return policy

    async def get_discount_policy(self, principal: Principal, org_unit_id: str) -> discounts.DiscountPolicy:
        """The policy in force for the unit: its own, an ancestor's or the default."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            path = await self._unit_path_of(session, principal, org_unit_id, "org_units:read")
            return await self._policy_in_force(session, path)
