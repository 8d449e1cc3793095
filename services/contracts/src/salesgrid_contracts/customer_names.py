"""Customers' legal names, kept from customers' customer.created/updated events, so printed
contracts and receipts name the customer without a call to customers on each print. Customers
this projection never saw (created before it existed, or before contracts consumed customers'
stream) arrive by `customer.restated`, which customers publishes for every customer on
`python -m salesgrid_customers restate-customers` (the backfill: no copy of customers' data)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import upsert, upsert_many
from salesgrid_common.events.batches import Item, claim_newer_many, newest_per_key
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp
from salesgrid_contracts.models import CustomerName


def customer_names_subscription() -> Subscription:
    sub = Subscription(name="contracts-customer-names", producer="customers")

    async def keep(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        if not await claim_newer(session, sub.name, customer.customer_id, envelope):
            return  # an older state redelivered late: the newer one is already kept
        await upsert(session, CustomerName.__table__, _row(envelope, customer), ["customer_id"])

    async def keep_many(session: AsyncSession, items: list[Item]) -> None:
        """keep, set-based: one claim and one upsert for a run (each customer's newest state)."""
        newest = newest_per_key(items, lambda customer: customer.customer_id)
        if newest is None:  # events from before versions: one at a time, as keep does
            for envelope, customer in items:
                await keep(session, envelope, customer)
            return
        claimed = await claim_newer_many(session, sub.name, newest)
        await upsert_many(session, CustomerName.__table__, [_row(*newest[key]) for key in claimed], ["customer_id"])

    for verb in ("created", "updated", "restated"):
        sub.on(f"salesgrid.customers.customer.{verb}", CustomerRecordState)(keep)
        sub.on_batch(f"salesgrid.customers.customer.{verb}")(keep_many)
    return sub


def _row(envelope: Envelope, customer: CustomerRecordState) -> dict[str, object]:
    return {
        "customer_id": customer.customer_id,
        "legal_name": customer.legal_name,
        "updated_at": from_timestamp(envelope.occurred_at),
    }


async def legal_name(session: AsyncSession, customer_id: str) -> str | None:
    row = await session.get(CustomerName, customer_id)
    return row.legal_name if row and row.legal_name else None
