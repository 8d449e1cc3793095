"""Events from other services that activities keeps: customers' coordinates, for check-in
distances (no call to customers on each check-in)."""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import upsert, upsert_many
from salesgrid_common.events.batches import Item, claim_newer_many, newest_per_key
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.versions import claim_newer
from salesgrid_common.protos import from_timestamp
from salesgrid_activities.models import CustomerLocation


_LOCATIONS = CustomerLocation.__table__
_FORGET = delete(_LOCATIONS).where(_LOCATIONS.c.customer_id == bindparam("customer_id"))


def customer_locations() -> Subscription:
    sub = Subscription(name="activities-customer-locations", producer="customers")

    async def keep(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        if not await claim_newer(session, sub.name, customer.customer_id, envelope):
            return  # an older state redelivered late: the newer one is already kept
        if not customer.has_location:
            await session.execute(_FORGET, {"customer_id": customer.customer_id})
            return
        await upsert(session, _LOCATIONS, _location(envelope, customer), ["customer_id"])

    async def keep_many(session: AsyncSession, items: list[Item]) -> None:
        """keep, set-based: one claim for a run, then one delete and one upsert (each customer's
        newest state decides whether it has a location)."""
        newest = newest_per_key(items, lambda customer: customer.customer_id)
        if newest is None:  # events from before versions: one at a time, as keep does
            for envelope, customer in items:
                await keep(session, envelope, customer)
            return
        claimed = [newest[key] for key in await claim_newer_many(session, sub.name, newest)]
        if gone := [{"customer_id": c.customer_id} for _, c in claimed if not c.has_location]:
            await session.execute(_FORGET, gone)
        located = [_location(envelope, c) for envelope, c in claimed if c.has_location]
        await upsert_many(session, _LOCATIONS, located, ["customer_id"])

    for verb in ("created", "updated", "restated"):  # restated: customers' backfill (restate.py)
        sub.on(f"salesgrid.customers.customer.{verb}", CustomerRecordState)(keep)
        sub.on_batch(f"salesgrid.customers.customer.{verb}")(keep_many)
    return sub


def _location(envelope: Envelope, customer: CustomerRecordState) -> dict[str, object]:
    return {
        "customer_id": customer.customer_id,
        "latitude": customer.latitude,
        "longitude": customer.longitude,
        "updated_at": from_timestamp(envelope.occurred_at),
    }
