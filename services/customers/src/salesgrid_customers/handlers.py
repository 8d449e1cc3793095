"""Event consumers: per customer and rep, the follow-up and opportunity times that ownership
arbitration and the automatic return to the pool compare; opportunities, contracts and money
for the customer 360 view. An event naming a merged customer counts for its survivor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsContractState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.customer_merges import writing_for, writing_for_many
from salesgrid_common.events.batches import Item, claim_newer_many, newest_per_key
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp
from salesgrid_customers import models
from salesgrid_customers.stores.facts import (
    record_deal,
    record_follow_up,
    record_deals,
    record_follow_ups,
    record_opportunities,
    record_opportunity,
    store_fact,
    store_facts,
)

LOGGED = "salesgrid.activities.follow_up.logged"

__all__ = [
    "activities_subscription",
    "contracts_subscription",
    "pipeline_subscription",
    "record_deal",
    "record_follow_up",
    "record_opportunity",
]


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None  # dead-lettered: a producer bug


def activities_subscription() -> Subscription:
    sub = Subscription(name="customers-activity-facts", producer="activities")

    @sub.on(LOGGED, ActivitiesFollowUpLogged)
    async def follow_up_logged(session: AsyncSession, envelope: Envelope, event: ActivitiesFollowUpLogged) -> None:
        if not event.customer_id or not event.owner_id:  # a lead's follow-up: no customer yet
            return
        await record_follow_up(
            session, await writing_for(session, event.customer_id), event.owner_id, _at(envelope, event)
        )

    @sub.on_batch(LOGGED)
    async def follow_ups_logged(session: AsyncSession, items: list[Item]) -> None:
        """follow_up_logged, set-based: the customers resolved together (on PostgreSQL two
        statements for the batch, not two per event), then one row per customer and rep."""
        logged = [(envelope, event) for envelope, event in items if event.customer_id and event.owner_id]
        survivors = await writing_for_many(session, (event.customer_id for _, event in logged))
        await record_follow_ups(
            session,
            [(survivors[event.customer_id], event.owner_id, _at(envelope, event)) for envelope, event in logged],
        )

    return sub


def _at(envelope: Envelope, event: ActivitiesFollowUpLogged) -> datetime:
    return from_timestamp(event.occurred_at if event.HasField("occurred_at") else envelope.occurred_at)


def pipeline_subscription() -> Subscription:
    sub = Subscription(name="customers-opportunity-facts", producer="pipeline")

    async def opportunity_state(session: AsyncSession, envelope: Envelope, event: PipelineOpportunityState) -> None:
        if not event.customer_id:
            return
        at = from_timestamp(envelope.occurred_at)
        verb = envelope.type.rsplit(".", 1)[-1]
        customer_id = await writing_for(session, event.customer_id)  # the statements resolve merges
        if event.owner_id and verb == "created":
            await record_opportunity(session, customer_id, event.owner_id, at)
        elif event.owner_id and verb == "won":
            await record_deal(session, customer_id, event.owner_id, at)
        # The times above are order-free (earliest/latest); the state is the newest version's:
        # an older state redelivered late (after a crash) must not overwrite it.
        if not await claim_newer(session, sub.name, event.opportunity_id, envelope):
            return
        await store_fact(
            session,
            models.OpportunityFact,
            customer_id,
            opportunity_id=event.opportunity_id,
            status=event.status,
            amount=_decimal(event.amount),
            currency=event.currency,
        )

    async def opportunity_states(session: AsyncSession, items: list[Item]) -> None:
        """opportunity_state, set-based: the run's customers resolved together, the reps' times one
        row per customer and rep, and each opportunity's newest state claimed and stored, each
        step one execution for the run (what the events leave one by one: the times are
        order-free, the state is the newest version's)."""
        named = [(envelope, event) for envelope, event in items if event.customer_id]
        newest = newest_per_key(named, lambda event: event.opportunity_id)
        if newest is None:  # events from before versions: one at a time, as opportunity_state does
            for envelope, event in named:
                await opportunity_state(session, envelope, event)
            return
        survivors = await writing_for_many(session, (event.customer_id for _, event in named))
        times: dict[str, list[tuple[str, str, datetime]]] = {"created": [], "won": []}
        for envelope, event in named:
            verb = envelope.type.rsplit(".", 1)[-1]
            if event.owner_id and verb in times:
                times[verb].append((survivors[event.customer_id], event.owner_id, from_timestamp(envelope.occurred_at)))
        await record_opportunities(session, times["created"])
        await record_deals(session, times["won"])
        claimed = [newest[key][1] for key in await claim_newer_many(session, sub.name, newest)]
        await store_facts(
            session,
            models.OpportunityFact,
            [
                {
                    "of_customer": survivors[event.customer_id],
                    "opportunity_id": event.opportunity_id,
                    "status": event.status,
                    "amount": _decimal(event.amount),
                    "currency": event.currency,
                }
                for event in claimed
            ],
        )

    for verb in ("created", "stage_changed", "won", "lost"):
        sub.on(f"salesgrid.pipeline.opportunity.{verb}", PipelineOpportunityState)(opportunity_state)
        sub.on_batch(f"salesgrid.pipeline.opportunity.{verb}")(opportunity_states)
    return sub


def contracts_subscription() -> Subscription:
    sub = Subscription(name="customers-contract-facts", producer="contracts")

    async def contract_state(session: AsyncSession, envelope: Envelope, event: ContractsContractState) -> None:
        if event.customer_id and await claim_newer(session, sub.name, event.contract_id, envelope):
            await store_fact(
                session,
                models.ContractFact,
                await writing_for(session, event.customer_id),
                contract_id=event.contract_id,
                status=event.status,
                total=_decimal(event.total),
                currency=event.currency,
            )

    for verb in (
        "created",
        "submitted",
        "approved",
        "rejected",
        "signed",
        "activated",
        "completed",
        "terminated",
        "amended",
    ):
        sub.on(f"salesgrid.contracts.contract.{verb}", ContractsContractState)(contract_state)

    @sub.on("salesgrid.contracts.receipt.recorded", ContractsReceiptRecorded)
    async def receipt(session: AsyncSession, envelope: Envelope, event: ContractsReceiptRecorded) -> None:
        if event.customer_id:
            await store_fact(
                session,
                models.MoneyFact,
                await writing_for(session, event.customer_id),
                entry_id=event.receipt_id,
                amount=_decimal(event.amount),
                currency=event.currency,
            )

    @sub.on("salesgrid.contracts.refund.recorded", ContractsRefundRecorded)
    async def refund(session: AsyncSession, envelope: Envelope, event: ContractsRefundRecorded) -> None:
        if event.customer_id:
            await store_fact(
                session,
                models.MoneyFact,
                await writing_for(session, event.customer_id),
                entry_id=event.refund_id,
                amount=-_decimal(event.amount),
                currency=event.currency,
            )

    return sub
