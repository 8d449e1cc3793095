"""The customer-location projection's batch form (a run of customers' events in one call, as a
consumer hands an import's events over) leaves what the one-by-one handler leaves: each
customer's newest state, an older state arriving late changes nothing, a state without a location
removes it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_activities.app import MIGRATIONS
from salesgrid_activities.handlers import customer_locations
from salesgrid_activities.models import CustomerLocation
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def located(customer: str, lat: float, lon: float) -> CustomerRecordState:
    return CustomerRecordState(customer_id=customer, has_location=True, latitude=lat, longitude=lon)


RUN = [  # (verb, version, state), in the order fetched
    ("created", 1, located("c1", 39.9, 116.4)),
    ("updated", 3, located("c1", 31.2, 121.5)),
    ("updated", 2, CustomerRecordState(customer_id="c1", has_location=False)),  # older: ignored
    ("created", 1, located("c2", 30.0, 120.0)),
    ("updated", 2, CustomerRecordState(customer_id="c2", has_location=False)),  # newest: removes it
    ("created", 1, CustomerRecordState(customer_id="c3", has_location=False)),
    ("updated", 4, located("c4", 1.0, 1.0)),  # older than the stored version 5
]


async def locations(sessions: SessionFactory) -> dict[str, tuple[float, float]]:
    async with sessions() as session:
        rows = await session.execute(
            select(CustomerLocation.customer_id, CustomerLocation.latitude, CustomerLocation.longitude)
        )
        return {customer: (lat, lon) for customer, lat, lon in rows}


async def apply(
    sessions: SessionFactory, sub: Subscription, events: list[tuple[str, int, CustomerRecordState]], *, batch: bool
) -> None:
    items = [
        (
            build_envelope(
                f"salesgrid.customers.customer.{verb}",
                "customers",
                state,
                EventMeta(aggregate_id=state.customer_id),
                NOW,
                version,
            ),
            state,
        )
        for verb, version, state in events
    ]
    async with sessions() as session, session.begin():
        if batch:
            handler = sub.batch_route(items[0][0].type)
            assert handler is not None
            await handler(session, items)
        else:
            for envelope, state in items:
                route = sub.route(envelope.type)
                assert route is not None
                await route[1](session, envelope, state)


async def test_a_run_leaves_what_the_events_one_by_one_leave(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    sub = customer_locations()
    await apply(sessions, sub, [("created", 5, located("c4", 22.5, 114.1))], batch=False)
    await apply(sessions, sub, RUN, batch=True)
    assert await locations(sessions) == {"c1": (31.2, 121.5), "c4": (22.5, 114.1)}
    # The same events one by one under another projection name: the same rows.
    alone = customer_locations()
    alone.name = "activities-customer-locations-alone"
    async with sessions() as session, session.begin():
        await session.execute(CustomerLocation.__table__.delete())
    await apply(sessions, alone, [("created", 5, located("c4", 22.5, 114.1))], batch=False)
    await apply(sessions, alone, RUN, batch=False)
    assert await locations(sessions) == {"c1": (31.2, 121.5), "c4": (22.5, 114.1)}
