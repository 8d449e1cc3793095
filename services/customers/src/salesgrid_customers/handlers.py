"""Event consumers: per customer and rep, the follow-up and opportunity times that ownership
arbitration and the automatic return to the pool compare; opportunities, contracts and money
for the customer 360 view. An event naming a merged customer counts for its survivor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import case, or_
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsContractState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.db import conflict_insert
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp
from salesgrid_customers import models


def _earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new < current else current


def _latest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new > current else current


async def _facts(session: AsyncSession, customer_id: str, rep_id: str) -> models.RepActivity:
    row = await session.get(models.RepActivity, (customer_id, rep_id))
    if row is None:
        row = models.RepActivity(customer_id=customer_id, rep_id=rep_id, follow_up_count=0)
        session.add(row)
    return row


@lru_cache(maxsize=4)
def _follow_up_statement(dialect: str) -> Any:
    """One follow-up counted on its (customer, rep) row, created if missing: built once, bound at
    execution. The earliest and latest times as _earliest/_latest keep them (NULL: none yet)."""
    table = models.RepActivity.__table__
    statement = conflict_insert(dialect)(table)
    new, first, last = statement.excluded, table.c.first_follow_up_at, table.c.last_follow_up_at
    return statement.on_conflict_do_update(
        index_elements=["customer_id", "rep_id"],
        set_={
            "follow_up_count": table.c.follow_up_count + 1,
            "first_follow_up_at": case(
                (or_(first.is_(None), new.first_follow_up_at < first), new.first_follow_up_at), else_=first
            ),
            "last_follow_up_at": case(
                (or_(last.is_(None), new.last_follow_up_at > last), new.last_follow_up_at), else_=last
            ),
        },
    )


async def record_follow_up(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    # One statement, not a load and a unit-of-work flush: this runs for every follow-up logged.
    # Its subscription's transactions load no ORM copy of these rows (this is its only handler),
    # so none goes stale; the opportunity handlers' ORM updates set only their own columns.
    await session.execute(
        _follow_up_statement(session.get_bind().dialect.name),
        {
            "customer_id": customer_id,
            "rep_id": rep_id,
            "follow_up_count": 1,
            "first_follow_up_at": at,
            "last_follow_up_at": at,
        },
    )


async def record_opportunity(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    row = await _facts(session, customer_id, rep_id)
    row.first_opportunity_at = _earliest(row.first_opportunity_at, at)
    row.last_opportunity_at = _latest(row.last_opportunity_at, at)


async def record_deal(session: AsyncSession, customer_id: str, rep_id: str, at: datetime) -> None:
    row = await _facts(session, customer_id, rep_id)
    row.last_deal_at = _latest(row.last_deal_at, at)


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {text!r}") from None  # dead-lettered: a producer bug


async def _upsert(session: AsyncSession, model: type[models.Base], key: str, **values: object) -> None:
    row = await session.get(model, key)
    if row is None:
        session.add(model(**{model.__mapper__.primary_key[0].key: key}, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)


def activities_subscription() -> Subscription:
    sub = Subscription(name="customers-activity-facts", producer="activities")

    @sub.on("salesgrid.activities.follow_up.logged", ActivitiesFollowUpLogged)
    async def follow_up_logged(session: AsyncSession, envelope: Envelope, event: ActivitiesFollowUpLogged) -> None:
        if not event.customer_id or not event.owner_id:  # a lead's follow-up: no customer yet
            return
        at = from_timestamp(event.occurred_at if event.HasField("occurred_at") else envelope.occurred_at)
        await record_follow_up(session, await survivor_of(session, event.customer_id), event.owner_id, at)

    return sub


def pipeline_subscription() -> Subscription:
    sub = Subscription(name="customers-opportunity-facts", producer="pipeline")

    async def opportunity_state(session: AsyncSession, envelope: Envelope, event: PipelineOpportunityState) -> None:
        if not event.customer_id:
            return
        at = from_timestamp(envelope.occurred_at)
        verb = envelope.type.rsplit(".", 1)[-1]
        customer_id = await survivor_of(session, event.customer_id)
        if event.owner_id and verb == "created":
            await record_opportunity(session, customer_id, event.owner_id, at)
        elif event.owner_id and verb == "won":
            await record_deal(session, customer_id, event.owner_id, at)
        # The times above are order-free (earliest/latest); the state is the newest version's:
        # an older state redelivered late (after a crash) must not overwrite it.
        if not await claim_newer(session, sub.name, event.opportunity_id, envelope):
            return
        await _upsert(
            session,
            models.OpportunityFact,
            event.opportunity_id,
            customer_id=customer_id,
            status=event.status,
            amount=_decimal(event.amount),
            currency=event.currency,
        )

    for verb in ("created", "stage_changed", "won", "lost"):
        sub.on(f"salesgrid.pipeline.opportunity.{verb}", PipelineOpportunityState)(opportunity_state)
    return sub


def contracts_subscription() -> Subscription:
    sub = Subscription(name="customers-contract-facts", producer="contracts")

    async def contract_state(session: AsyncSession, envelope: Envelope, event: ContractsContractState) -> None:
        if event.customer_id and await claim_newer(session, sub.name, event.contract_id, envelope):
            await _upsert(
                session,
                models.ContractFact,
                event.contract_id,
                customer_id=await survivor_of(session, event.customer_id),
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
            await _upsert(
                session,
                models.MoneyFact,
                event.receipt_id,
                customer_id=await survivor_of(session, event.customer_id),
                amount=_decimal(event.amount),
                currency=event.currency,
            )

    @sub.on("salesgrid.contracts.refund.recorded", ContractsRefundRecorded)
    async def refund(session: AsyncSession, envelope: Envelope, event: ContractsRefundRecorded) -> None:
        if event.customer_id:
            await _upsert(
                session,
                models.MoneyFact,
                event.refund_id,
                customer_id=await survivor_of(session, event.customer_id),
                amount=-_decimal(event.amount),
                currency=event.currency,
            )

    return sub
