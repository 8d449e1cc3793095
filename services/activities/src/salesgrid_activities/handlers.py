"""Events from other services that activities keeps: customers' coordinates, for check-in
distances (no call to customers on each check-in)."""

from __future__ import annotations

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import upsert
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
        await upsert(
            session,
            _LOCATIONS,
            {
                "customer_id": customer.customer_id,
                "latitude": customer.latitude,
                "longitude": customer.longitude,
                "updated_at": from_timestamp(envelope.occurred_at),
            },
            ["customer_id"],
        )

    for verb in ("created", "updated", "restated"):  # restated: customers' backfill (restate.py)
        sub.on(f"salesgrid.customers.customer.{verb}", CustomerRecordState)(keep)
    return sub
