"""Events that become inbox items (domain/inbox.py): one durable consumer per producer, each
applying an event exactly once (the consumer's processed-event table) in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import (
    ActivitiesAnnouncementPublished,
    ActivitiesReminderDue,
    ActivitiesSpotCheck,
    ActivitiesTaskState,
)
from salesgrid.events.v1.contracts_events_pb2 import ContractsInstalmentOverdue
from salesgrid.events.v1.customers_events_pb2 import (
    CustomerArbitrationDecided,
    CustomerMerged,
    CustomerPoolReturnWarning,
    CustomerShareRequestState,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.expenses_events_pb2 import ExpensesApprovalStep, ExpensesClaimState
from salesgrid.events.v1.pipeline_events_pb2 import PipelineDiscountApprovalStep, PipelineQuoteState, PipelineSlaNotice
from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionDisabled
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.protos import from_timestamp
from salesgrid_activities.domain import inbox
from salesgrid_activities.stores import announcements as announcement_store
from salesgrid_activities.stores import inbox as inbox_store
from salesgrid_activities.usecases.answerable import answerable_for_key
from salesgrid_activities.usecases.inbox import deliver


async def _deliver(session: AsyncSession, envelope: Envelope, notice: inbox.Notice) -> None:
    await deliver(
        session,
        notice,
        event_id=envelope.event_id,
        occurred_at=from_timestamp(envelope.occurred_at),
        owner_org_path=envelope.org_path,
    )


def pipeline_notices() -> Subscription:
    sub = Subscription(name="activities-inbox-pipeline", producer="pipeline")

    async def sla(session: AsyncSession, envelope: Envelope, notice: PipelineSlaNotice) -> None:
        due = from_timestamp(notice.due_at).date().isoformat() if notice.HasField("due_at") else ""
        await _deliver(
            session,
            envelope,
            inbox.sla_notice(
                notice.opportunity_id, notice.stage, notice.level, notice.recipient_ids, notice.owner_id, due
            ),
        )

    for verb in ("overdue", "escalated"):
        sub.on(f"salesgrid.pipeline.sla.{verb}", PipelineSlaNotice)(sla)

    async def discount_asked(session: AsyncSession, envelope: Envelope, s: PipelineDiscountApprovalStep) -> None:
        await _deliver(
            session,
            envelope,
            inbox.discount_approval(
                s.quote_id,
                s.approver_id,
                s.owner_id,
                s.discount_rate,
                reminder=envelope.type.endswith(".step_reminded"),
            ),
        )

    for verb in ("activated", "reminded"):
        sub.on(f"salesgrid.pipeline.discount_approval.step_{verb}", PipelineDiscountApprovalStep)(discount_asked)

    @sub.on("salesgrid.pipeline.discount_approval.step_rejected", PipelineDiscountApprovalStep)
    async def discount_rejected(session: AsyncSession, envelope: Envelope, s: PipelineDiscountApprovalStep) -> None:
        await _deliver(
            session,
            envelope,
            inbox.discount_settled(s.quote_id, "rejected", s.discount_rate, s.owner_id, s.submitted_by, s.comment),
        )

    @sub.on("salesgrid.pipeline.quote.discount_approved", PipelineQuoteState)
    async def discount_approved(session: AsyncSession, envelope: Envelope, q: PipelineQuoteState) -> None:
        await _deliver(
            session, envelope, inbox.discount_settled(q.quote_id, "approved", q.discount_rate, q.owner_id, "", "")
        )

    return sub


def customers_notices() -> Subscription:
    sub = Subscription(name="activities-inbox-customers", producer="customers")

    @sub.on("salesgrid.customers.customer.pool_return_warning", CustomerPoolReturnWarning)
    async def pool_warning(session: AsyncSession, envelope: Envelope, w: CustomerPoolReturnWarning) -> None:
        await _deliver(session, envelope, inbox.pool_return_warning(w.customer_id, w.owner_id, w.rule, w.due_at))

    @sub.on("salesgrid.customers.customer.arbitration_decided", CustomerArbitrationDecided)
    async def ownership(session: AsyncSession, envelope: Envelope, d: CustomerArbitrationDecided) -> None:
        await _deliver(
            session,
            envelope,
            inbox.ownership_decided(d.customer_ids, d.rep_ids, d.winner_rep_id, d.winner_customer_id, d.rule, d.reason),
        )

    @sub.on("salesgrid.customers.share_request.created", CustomerShareRequestState)
    async def share_requested(session: AsyncSession, envelope: Envelope, r: CustomerShareRequestState) -> None:
        await _deliver(
            session,
            envelope,
            inbox.share_requested(r.request_id, r.requester_name, r.customer_name, r.owner_id, r.owner_manager_id),
        )

    async def share_decided(session: AsyncSession, envelope: Envelope, r: CustomerShareRequestState) -> None:
        await _deliver(
            session,
            envelope,
            inbox.share_request_decided(
                r.request_id, r.status, r.customer_name, r.requester_id, r.owner_id, r.decided_by_name
            ),
        )

    for verb in ("accepted", "declined"):
        sub.on(f"salesgrid.customers.share_request.{verb}", CustomerShareRequestState)(share_decided)

    @sub.on("salesgrid.customers.customer.merged", CustomerMerged)
    async def merged(session: AsyncSession, envelope: Envelope, m: CustomerMerged) -> None:
        """Links to a merged customer lead to the survivor (the merged record answers 404)."""
        if m.survivor_id and m.merged_ids:
            await inbox_store.repoint(session, "customer", list(m.merged_ids), m.survivor_id)

    return sub


def contracts_notices() -> Subscription:
    sub = Subscription(name="activities-inbox-contracts", producer="contracts")

    @sub.on("salesgrid.contracts.instalment.overdue", ContractsInstalmentOverdue)
    async def overdue(session: AsyncSession, envelope: Envelope, i: ContractsInstalmentOverdue) -> None:
        await _deliver(
            session,
            envelope,
            inbox.instalment_overdue(i.contract_id, i.number, i.seq, i.due_date, i.outstanding, i.currency, i.owner_id),
        )

    return sub


def activities_notices() -> Subscription:
    """This service's own reminders reach the inbox through its stream too, like everyone's."""
    sub = Subscription(name="activities-inbox-tasks", producer="activities")

    @sub.on("salesgrid.activities.reminder.due", ActivitiesReminderDue)
    async def reminder(session: AsyncSession, envelope: Envelope, r: ActivitiesReminderDue) -> None:
        await _deliver(session, envelope, inbox.task_reminder(r.task_id, r.title, r.assignee_id, r.minutes_before))

    @sub.on("salesgrid.activities.task.overdue", ActivitiesTaskState)
    async def task_overdue(session: AsyncSession, envelope: Envelope, t: ActivitiesTaskState) -> None:
        await _deliver(session, envelope, inbox.task_overdue(t.task_id, t.title, t.assignee_id, t.creator_id))

    @sub.on("salesgrid.activities.announcement.published", ActivitiesAnnouncementPublished)
    async def announced(session: AsyncSession, envelope: Envelope, a: ActivitiesAnnouncementPublished) -> None:
        """The audience is the announcement's receipts, fixed when it was published."""
        recipients = await announcement_store.recipients(session, a.announcement_id)
        await _deliver(session, envelope, inbox.announcement(a.announcement_id, a.title, recipients, a.publisher_id))

    @sub.on("salesgrid.activities.spot_check.assigned", ActivitiesSpotCheck)
    async def spot_check_assigned(session: AsyncSession, envelope: Envelope, c: ActivitiesSpotCheck) -> None:
        await _deliver(session, envelope, inbox.spot_check_assigned(c.spot_check_id, c.week, c.verifier_id, c.owner_id))

    @sub.on("salesgrid.activities.spot_check.verified", ActivitiesSpotCheck)
    async def spot_check_verified(session: AsyncSession, envelope: Envelope, c: ActivitiesSpotCheck) -> None:
        if c.verdict == "false":
            await _deliver(
                session,
                envelope,
                inbox.spot_check_false(c.spot_check_id, c.week, c.owner_id, c.manager_id, c.fine, c.currency),
            )

    return sub


def expenses_notices() -> Subscription:
    """Approvers learn what waits for them; claimants how their claims were settled."""
    sub = Subscription(name="activities-inbox-expenses", producer="expenses")

    async def approval(session: AsyncSession, envelope: Envelope, s: ExpensesApprovalStep) -> None:
        await _deliver(
            session,
            envelope,
            inbox.expense_approval(
                s.claim_id,
                s.approver_id,
                s.owner_id,
                s.total,
                s.currency,
                reminder=envelope.type.endswith(".step_reminded"),
            ),
        )

    for verb in ("activated", "reminded"):
        sub.on(f"salesgrid.expenses.approval.step_{verb}", ExpensesApprovalStep)(approval)

    async def settled(session: AsyncSession, envelope: Envelope, c: ExpensesClaimState) -> None:
        await _deliver(
            session, envelope, inbox.expense_settled(c.claim_id, c.status, c.total, c.currency, c.owner_id, c.comment)
        )

    for verb in ("approved", "rejected", "paid"):
        sub.on(f"salesgrid.expenses.claim.{verb}", ExpensesClaimState)(settled)
    return sub


def webhooks_notices() -> Subscription:
    """The owner of a webhook subscription that was disabled after failing for days (for an API
    key's, the people who answer for the key)."""
    sub = Subscription(name="activities-inbox-webhooks", producer="webhooks")

    @sub.on("salesgrid.webhooks.subscription.disabled", WebhookSubscriptionDisabled)
    async def disabled(session: AsyncSession, envelope: Envelope, d: WebhookSubscriptionDisabled) -> None:
        answerable: list[str] = []
        if d.owner_kind == "api_key":
            answerable = await answerable_for_key(session, d.responsible_id, envelope.org_path)
        notice = inbox.webhook_disabled(d.subscription_id, d.url, d.reason, d.owner_id, d.owner_kind, answerable)
        await _deliver(session, envelope, notice)

    return sub


def inbox_subscriptions() -> Sequence[Subscription]:
    return [
        pipeline_notices(),
        customers_notices(),
        contracts_notices(),
        activities_notices(),
        expenses_notices(),
        webhooks_notices(),
    ]
