"""Event consumers: each event of another service becomes (at most) one stored fact.

The pipeline's and activities' subscriptions live in handlers_pipeline and handlers_activities.
Only payloads that exist in proto/salesgrid/events/v1 are consumed; the inbox of the common
consumer plus the event-id key of `facts` make redeliveries and replays insert nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid_analytics import factstore
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.expenses import ExpensePaid
from salesgrid_analytics.merges import customer_merges_subscription
from salesgrid_common.events.batches import Item
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.service_context import ServiceContext
from salesgrid_analytics.fact_events import common, when
from salesgrid_analytics.fact_handlers import FactHandlers, Lookups
from salesgrid_analytics.handlers_activities import activities_subscription
from salesgrid_analytics.handlers_pipeline import pipeline_subscription


def identity_subscription() -> Subscription:
    sub = Subscription(name="analytics-identity-facts", producer="identity")

    @sub.on("salesgrid.identity.user.created", UserState)
    async def user_created(session: AsyncSession, envelope: Envelope, user: UserState) -> None:
        await factstore.store(
            session,
            factstore.USER_CREATED,
            envelope.event_id,
            when(envelope),
            user.user_id,
            user.org_path or "/",
            {"unit_id": user.unit_id},
        )

    return sub


def customers_subscription() -> Subscription:
    sub = Subscription(name="analytics-customers-facts", producer="customers")

    @sub.on("salesgrid.customers.customer.created", CustomerRecordState)
    async def customer_created(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        if fact := _customer_created(envelope, customer):
            await factstore.store_fact(session, fact)

    @sub.on_batch("salesgrid.customers.customer.created")
    async def customers_created(session: AsyncSession, items: list[Item]) -> None:
        """customer_created, set-based: one insert for a run (an imported file's customers)."""
        await factstore.store_facts(session, [fact for item in items if (fact := _customer_created(*item))])

    return sub


def _customer_created(envelope: Envelope, customer: CustomerRecordState) -> f.CustomerCreated | None:
    owner = customer.owner_id or envelope.actor_id
    if not owner:  # created straight into the public pool: nobody's new customer
        return None
    return f.CustomerCreated(**common(envelope, owner, customer.org_path), customer_id=customer.customer_id)


def contracts_subscription() -> Subscription:
    sub = Subscription(name="analytics-contracts-facts", producer="contracts")
    facts = FactHandlers(sub)  # the receipt reads a stored signing (old events): a plain handler

    @facts.on("salesgrid.contracts.contract.signed", ContractsContractState)
    async def signed(_: Lookups, envelope: Envelope, contract: ContractsContractState) -> f.Fact:
        return f.ContractSigned(
            **common(envelope, contract.owner_id, contract.org_path),
            contract_id=contract.contract_id,
            amount=contract.total,
            currency=contract.currency,
            channel=contract.channel or "direct",
            partner_id=contract.partner_id,
        )

    @sub.on("salesgrid.contracts.receipt.recorded", ContractsReceiptRecorded)
    async def receipt(session: AsyncSession, envelope: Envelope, paid: ContractsReceiptRecorded) -> None:
        # A receipt is credited to the contract's owner, which the event carries (with the
        # contract's org path in the envelope): no dependence on the signing arriving first.
        # Events from before that field: the signing fact, if it is here, else the actor.
        if paid.owner_id:
            owner, org_path = paid.owner_id, envelope.org_path
        else:
            contract = await factstore.find(session, "contract_signed", "contract_id", paid.contract_id)
            owner, org_path = (contract.owner_id, contract.org_path) if contract else (envelope.actor_id, "")
        await factstore.store_fact(
            session,
            f.ReceiptRecorded(
                **common(envelope, owner, org_path),
                contract_id=paid.contract_id,
                amount=paid.amount,
                currency=paid.currency,
                channel=paid.channel or "direct",
                partner_id=paid.partner_id,
            ),
        )

    return sub


def expenses_subscription() -> Subscription:
    """Paid claims are the cost of sale; each line keeps the customer and opportunity it was spent on."""
    sub = Subscription(name="analytics-expenses-facts", producer="expenses")
    facts = FactHandlers(sub)

    @facts.on("salesgrid.expenses.claim.paid", ExpensesClaimState)
    async def paid(lookups: Lookups, envelope: Envelope, claim: ExpensesClaimState) -> f.Fact:
        return ExpensePaid(
            **common(envelope, claim.owner_id, claim.org_path),
            claim_id=claim.claim_id,
            amount=claim.total,
            currency=claim.currency,
            lines=tuple(
                [
                    {
                        "customer_id": await lookups.survivor(line.customer_id),
                        "opportunity_id": line.opportunity_id,
                        "amount": line.amount,
                    }
                    for line in claim.lines
                ]
            ),
        )

    return sub


def all_subscriptions() -> list[Subscription]:
    return [
        identity_subscription(),
        customers_subscription(),
        pipeline_subscription(),
        activities_subscription(),
        contracts_subscription(),
        expenses_subscription(),
        customer_merges_subscription(),
    ]


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return all_subscriptions()


__all__ = [
    "activities_subscription",
    "all_subscriptions",
    "contracts_subscription",
    "customers_subscription",
    "expenses_subscription",
    "identity_subscription",
    "pipeline_subscription",
    "subscriptions",
]
