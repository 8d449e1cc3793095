"""Activities' copy of customer coordinates keeps the newest customer state: an older state
redelivered late (after a consumer crash) does not move the customer back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_activities.app import MIGRATIONS
from salesgrid_activities.handlers import customer_locations
from salesgrid_activities.models import CustomerLocation
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_customer_location_keeps_the_newest_state(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    sub = customer_locations()

    async def deliver(verb: str, version: int, state: CustomerRecordState) -> None:
        envelope = build_envelope(
            f"salesgrid.customers.customer.{verb}", "customers", state, EventMeta(aggregate_id="c1"), NOW, version
        )
        _, handler = sub.route(envelope.type)  # type: ignore[misc]
        await apply_once(sessions, sub.name, envelope, handler, state)

    moved = CustomerRecordState(customer_id="c1", has_location=True, latitude=31.2, longitude=121.5)
    first = CustomerRecordState(customer_id="c1", has_location=True, latitude=39.9, longitude=116.4)
    cleared = CustomerRecordState(customer_id="c1", has_location=False)
    await deliver("updated", 3, moved)
    await deliver("created", 1, first)
    await deliver("updated", 2, cleared)  # an older removal must not delete the newer location
    async with sessions() as session:
        row = (await session.execute(select(CustomerLocation.latitude, CustomerLocation.longitude))).one()
    assert tuple(row) == (31.2, 121.5)
