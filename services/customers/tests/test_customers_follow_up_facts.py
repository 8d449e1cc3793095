"""Activities' follow-up events counted per customer and rep (what arbitration and the return to
the pool compare), on SQLite and PostgreSQL: the count, the earliest and the latest time, in any
arrival order, on a row an opportunity created first or on none yet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid_common.customer_merges import merges_metadata, record_merge
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.protos import to_timestamp
from salesgrid_customers import models
from salesgrid_customers.handlers import activities_subscription, record_opportunity

LOGGED = "salesgrid.activities.follow_up.logged"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(models.Base.metadata.create_all)
        await conn.run_sync(merges_metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def log(sessions: SessionFactory, customer_id: str, rep_id: str, at: datetime) -> None:
    event = ActivitiesFollowUpLogged(customer_id=customer_id, owner_id=rep_id, occurred_at=to_timestamp(at))
    envelope = build_envelope(LOGGED, "activities", event, EventMeta(aggregate_id="f"), T0)
    route = activities_subscription().route(LOGGED)
    assert route is not None
    async with sessions() as session, session.begin():
        await route[1](session, envelope, event)


async def facts(sessions: SessionFactory, customer_id: str, rep_id: str) -> models.RepActivity | None:
    async with sessions() as session:
        return await session.get(models.RepActivity, (customer_id, rep_id))


async def test_follow_ups_count_with_their_earliest_and_latest_time_in_any_order(sessions: SessionFactory) -> None:
    for days in (5, 2, 9, 4):
        await log(sessions, "c-1", "rep-a", T0 + timedelta(days=days))
    await log(sessions, "c-1", "rep-b", T0)
    row = await facts(sessions, "c-1", "rep-a")
    assert row is not None
    assert (row.follow_up_count, row.first_follow_up_at, row.last_follow_up_at) == (
        4,
        T0 + timedelta(days=2),
        T0 + timedelta(days=9),
    )
    other = await facts(sessions, "c-1", "rep-b")
    assert other is not None and (other.follow_up_count, other.first_follow_up_at) == (1, T0)


async def test_a_follow_up_on_a_row_an_opportunity_created_keeps_the_opportunity(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await record_opportunity(session, "c-2", "rep-a", T0)
    await log(sessions, "c-2", "rep-a", T0 + timedelta(hours=3))
    row = await facts(sessions, "c-2", "rep-a")
    assert row is not None
    assert (row.follow_up_count, row.first_follow_up_at, row.last_follow_up_at, row.first_opportunity_at) == (
        1,
        T0 + timedelta(hours=3),
        T0 + timedelta(hours=3),
        T0,
    )


async def test_a_batch_of_follow_ups_leaves_what_they_leave_one_by_one(sessions: SessionFactory) -> None:
    """The consumer's batch form: counts, earliest and latest times per customer and rep, a merged
    customer's follow-ups on its survivor, a lead's follow-up (no customer) ignored."""
    async with sessions() as session, session.begin():
        await record_merge(session, "c-2", ["c-old"], T0)
    logged = [
        ("c-1", "rep-a", 5),
        ("c-1", "rep-a", 2),
        ("c-old", "rep-a", 7),  # merged into c-2
        ("c-2", "rep-a", 1),
        ("", "rep-a", 3),  # a lead's
        ("c-1", "rep-b", 4),
        ("c-1", "rep-a", 9),
    ]
    items = []
    for customer_id, rep_id, days in logged:
        event = ActivitiesFollowUpLogged(
            customer_id=customer_id, owner_id=rep_id, occurred_at=to_timestamp(T0 + timedelta(days=days))
        )
        items.append((build_envelope(LOGGED, "activities", event, EventMeta(aggregate_id="f"), T0), event))
    await log(sessions, "c-1", "rep-a", T0 + timedelta(days=3))  # a row there before the batch
    handler = activities_subscription().batch_route(LOGGED)
    assert handler is not None
    async with sessions() as session, session.begin():
        await handler(session, items)
    expected = {
        ("c-1", "rep-a"): (4, T0 + timedelta(days=2), T0 + timedelta(days=9)),
        ("c-1", "rep-b"): (1, T0 + timedelta(days=4), T0 + timedelta(days=4)),
        ("c-2", "rep-a"): (2, T0 + timedelta(days=1), T0 + timedelta(days=7)),
    }
    for (customer_id, rep_id), want in expected.items():
        row = await facts(sessions, customer_id, rep_id)
        assert row is not None
        assert (row.follow_up_count, row.first_follow_up_at, row.last_follow_up_at) == want, (customer_id, rep_id)
    assert await facts(sessions, "c-old", "rep-a") is None
