"""Analytics' customer.created facts through the batch form (one insert for a run of events, as
the consumer hands over an import's customers) equal the facts the one-by-one handler stores:
the owner, else the actor who created it; none for a customer created into the public pool; an
event stored before is not stored twice (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_analytics.app import MIGRATIONS
from salesgrid_analytics.handlers import customers_subscription
from salesgrid_analytics.models import StoredFact
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
CREATED = "salesgrid.customers.customer.created"


def created(customer: str, owner: str, actor: str, org_path: str = "/c/t1/") -> tuple:  # type: ignore[type-arg]
    state = CustomerRecordState(customer_id=customer, owner_id=owner, org_path=org_path)
    meta = EventMeta(aggregate_id=customer, actor_id=actor, org_path=org_path)
    return build_envelope(CREATED, "customers", state, meta, NOW, 1), state


async def facts(sessions: SessionFactory) -> dict[str, tuple[str, str, str, str]]:
    async with sessions() as session:
        rows = (await session.scalars(select(StoredFact))).all()
    return {row.event_id: (row.kind, row.owner_id, row.org_path, row.data) for row in rows}


async def test_a_run_stores_the_facts_the_handler_would(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    sub = customers_subscription()
    batch, single = sub.batch_route(CREATED), sub.route(CREATED)
    assert batch is not None and single is not None
    shapes = [("rep-1", "rep-1"), ("", "importer"), ("", ""), ("rep-2", "importer")]
    run = [created(f"c{n}", owner, actor) for n, (owner, actor) in enumerate(shapes)]
    alone = [created(f"c{n}", owner, actor) for n, (owner, actor) in enumerate(shapes)]
    async with sessions() as session, session.begin():
        await batch(session, run)
    async with sessions() as session, session.begin():
        for envelope, state in alone:
            await single[1](session, envelope, state)
    stored = await facts(sessions)
    by_run = [stored.get(envelope.event_id) for envelope, _ in run]
    assert by_run == [stored.get(envelope.event_id) for envelope, _ in alone]
    assert [fact and fact[1] for fact in by_run] == ["rep-1", "importer", None, "rep-2"]
    async with sessions() as session, session.begin():
        await batch(session, run[:2])  # stored already: nothing new
    assert await facts(sessions) == stored
