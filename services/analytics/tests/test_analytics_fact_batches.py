"""Analytics' fact handlers through their shared batch form (fact_handlers): a run of events of
mixed types -- follow-ups and check-ins naming a merged customer, an opportunity created without
a close date, then moved -- is stored as the one-by-one handlers store it, with one insert for the
run and each customer resolved once; an event stored before is not stored twice (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import event, select

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged, ActivitiesVisitReading
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_analytics.app import MIGRATIONS
from salesgrid_analytics.handlers import activities_subscription, pipeline_subscription
from salesgrid_analytics.models import StoredFact
from salesgrid_common.customer_merges import record_merge
from salesgrid_common.db import SessionFactory, create_engine, session_factory
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_common.events.subscriptions import Subscription
from salesgrid_dev.migrated import migrate

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
A = "salesgrid.activities."
P = "salesgrid.pipeline.opportunity."


def event_of(event_type: str, payload: Message, aggregate: str, version: int = 1) -> tuple[Any, Message]:
    meta = EventMeta(aggregate_id=aggregate, actor_id="rep-1", org_path="/c/t1/")
    return build_envelope(event_type, event_type.split(".")[1], payload, meta, NOW, version), payload


def activities_run() -> list[tuple[Any, Message]]:
    def logged(n: int, customer: str) -> tuple[Any, Message]:
        payload = ActivitiesFollowUpLogged(
            follow_up_id=f"f{n}", owner_id="rep-1", org_path="/c/t1/", customer_id=customer
        )
        return event_of(A + "follow_up.logged", payload, f"f{n}")

    visit = ActivitiesVisitReading(
        visit_id="v1", owner_id="rep-1", org_path="/c/t1/", customer_id="merged", flags=["far"]
    )
    return [logged(1, "merged"), logged(2, "kept"), event_of(A + "check_in.recorded", visit, "v1"), logged(3, "merged")]


def pipeline_run() -> list[tuple[Any, Message]]:
    opened = PipelineOpportunityState(
        opportunity_id="o1", owner_id="rep-1", org_path="/c/t1/", stage="lead", amount="10", currency="CNY"
    )
    moved = PipelineOpportunityState(
        opportunity_id="o1", owner_id="rep-1", org_path="/c/t1/", stage="qualified", from_stage="lead"
    )
    return [event_of(P + "created", opened, "o1"), event_of(P + "stage_changed", moved, "o1", 2)]


async def stored(sessions: SessionFactory, events: list[tuple[Any, Message]]) -> list[tuple[str, ...] | None]:
    async with sessions() as session:
        rows = {row.event_id: row for row in (await session.scalars(select(StoredFact))).all()}
    found = [rows.get(envelope.event_id) for envelope, _ in events]
    return [row and (row.kind, row.owner_id, row.org_path, row.occurred_at.isoformat(), row.data) for row in found]


async def test_a_run_of_mixed_fact_events_is_one_insert_and_stores_what_the_handlers_would(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    try:
        async with sessions() as session, session.begin():
            await record_merge(session, "survivor", ["merged"], NOW)
        for subscription in (activities_subscription(), pipeline_subscription()):
            sub: Subscription = subscription
            run = activities_run() if sub.producer == "activities" else pipeline_run()
            alone = activities_run() if sub.producer == "activities" else pipeline_run()
            batch_forms = {id(sub.batch_route(envelope.type)) for envelope, _ in run}
            assert len(batch_forms) == 1 and None not in {sub.batch_route(e.type) for e, _ in run}  # one run
            batch = sub.batch_route(run[0][0].type)
            assert batch is not None
            statements.clear()
            async with sessions() as session, session.begin():
                await batch(session, run)
            inserts = [s for s in statements if s.startswith("INSERT INTO facts")]
            lookups = [s for s in statements if "FROM customer_merges" in s]
            assert len(inserts) == 1
            # survivor_of once per customer: "merged" twice (looked up again under the survivor's lock),
            # "kept" once; one by one the run's three events naming "merged" would cost six
            assert len(lookups) == (3 if sub.producer == "activities" else 0)
            async with sessions() as session, session.begin():
                for envelope, payload in alone:
                    route = sub.route(envelope.type)
                    assert route is not None
                    await route[1](session, envelope, payload)
            by_run, one_by_one = await stored(sessions, run), await stored(sessions, alone)
            assert None not in by_run
            # the same facts apart from their event ids (in no fact's data)
            assert by_run == one_by_one
            if sub.producer == "activities":
                assert [row and '"customer_id": "survivor"' in row[4] for row in by_run] == [True, False, True, True]
            async with sessions() as session, session.begin():
                await batch(session, run[:2])  # stored already: nothing new, nothing changed
            assert await stored(sessions, run) == by_run
    finally:
        await engine.dispose()
