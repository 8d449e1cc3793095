"""Event consumers: each event of another service becomes (at most) one stored fact.

Only payloads that exist in proto/salesgrid/events/v1 are consumed; the inbox of the common
consumer plus the event-id key of `facts` make redeliveries and replays insert nothing twice.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid.events.v1.pipeline_events_pb2 import PipelineGateViolated, PipelineOpportunityState, PipelineSlaNotice
from salesgrid_analytics import factstore
from salesgrid_analytics.domain import facts as f
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.service import ServiceContext


def _when(envelope: Envelope) -> datetime:
    return envelope.occurred_at.ToDatetime(tzinfo=UTC)


def _common(envelope: Envelope, owner_id: str, org_path: str) -> dict[str, object]:
    return {"event_id": envelope.event_id, "occurred_at": _when(envelope), "owner_id": owner_id,
            "org_path": org_path or envelope.org_path or "/"}


def identity_subscription() -> Subscription:
    sub = Subscription(name="analytics-identity-facts", producer="identity")

    @sub.on("salesgrid.identity.user.created", UserState)
    async def user_created(session: AsyncSession, envelope: Envelope, user: UserState) -> None:
        await factstore.store(session, factstore.USER_CREATED, envelope.event_id, _when(envelope), user.user_id,
                              user.org_path or "/", {"unit_id": user.unit_id})

    return sub


def customers_subscription() -> Subscription:
    sub = Subscription(name="analytics-customers-facts", producer="customers")

    @sub.on("salesgrid.customers.customer.created", CustomerRecordState)
    async def customer_created(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        owner = customer.owner_id or envelope.actor_id
        if not owner:  # created straight into the public pool: nobody's new customer
            return
        await factstore.store_fact(session, f.CustomerCreated(**_common(envelope, owner, customer.org_path),
                                                              customer_id=customer.customer_id))

    return sub


def pipeline_subscription() -> Subscription:
    sub = Subscription(name="analytics-pipeline-facts", producer="pipeline")

    @sub.on("salesgrid.pipeline.opportunity.created", PipelineOpportunityState)
    async def created(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        close = date.fromisoformat(opp.expected_close_date) if opp.expected_close_date else _when(envelope).date()
        await factstore.store_fact(session, f.OpportunityCreated(
            **_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id, stage=opp.stage,
            amount=opp.amount or "0", currency=opp.currency, expected_close=close))

    @sub.on("salesgrid.pipeline.opportunity.stage_changed", PipelineOpportunityState)
    async def stage_changed(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(session, f.StageChanged(
            **_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id,
            from_stage=opp.from_stage, to_stage=opp.stage))

    @sub.on("salesgrid.pipeline.opportunity.won", PipelineOpportunityState)
    async def won(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(session, f.OpportunityWon(
            **_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id))

    @sub.on("salesgrid.pipeline.opportunity.lost", PipelineOpportunityState)
    async def lost(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(session, f.OpportunityLost(
            **_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id, reason=opp.reason))

    @sub.on("salesgrid.pipeline.gate.violated", PipelineGateViolated)
    async def gate_violated(session: AsyncSession, envelope: Envelope, violation: PipelineGateViolated) -> None:
        await factstore.store_fact(session, f.GateViolated(
            **_common(envelope, violation.owner_id or violation.actor_id, ""),
            opportunity_id=violation.opportunity_id, stage=violation.target_stage))

    @sub.on("salesgrid.pipeline.sla.overdue", PipelineSlaNotice)
    async def sla_overdue(session: AsyncSession, envelope: Envelope, notice: PipelineSlaNotice) -> None:
        await factstore.store_fact(session, f.SlaOverdue(
            **_common(envelope, notice.owner_id, ""), opportunity_id=notice.opportunity_id, stage=notice.stage))

    return sub


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return [identity_subscription(), customers_subscription(), pipeline_subscription()]
