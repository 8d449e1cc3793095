"""An opportunity created without an expected close date counts on the day it was created on its
owner's branch calendar: 17:30 UTC on 31 March is already 1 April in Shanghai (the UTC date of
the event would put it in the wrong month and quarter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select

from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_analytics.app import MIGRATIONS
from salesgrid_analytics.handlers import pipeline_subscription
from salesgrid_analytics.models import StoredFact
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_dev.directory_seed import add_unit, add_user


async def test_a_deal_without_close_date_counts_on_the_owners_local_day(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    created_at = datetime(2026, 3, 31, 17, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        await add_unit(session, "sh", "/c/sh/", name="Shanghai", at=created_at)
        await add_user(session, "rep-sh", "/c/sh/", name="Rep", at=created_at)
    opp = PipelineOpportunityState(
        opportunity_id="o-1",
        owner_id="rep-sh",
        org_path="/c/sh/",
        stage="opportunity",
        amount="1000",
        currency="CNY",
    )
    envelope = build_envelope(
        "salesgrid.pipeline.opportunity.created",
        "pipeline",
        opp,
        EventMeta(aggregate_id="o-1", org_path="/c/sh/"),
        created_at,
    )
    route = pipeline_subscription().route(envelope.type)
    assert route is not None
    _, handler = route
    async with sessions() as session, session.begin():
        await handler(session, envelope, opp)
    async with sessions() as session:
        stored = (await session.scalars(select(StoredFact).where(StoredFact.kind == "opportunity_created"))).one()
    assert json.loads(stored.data)["expected_close"] == "2026-04-01"
