"""Versions keep projections from going backwards: the producer numbers each aggregate's events in
commit order, and a state projection (here every service's directory replica) keeps the newest,
ignoring an older state that arrives late, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, select

from salesgrid.events.v1.identity_events_pb2 import OrgUnitState, UserState
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import directory_subscription
from salesgrid_common.directory_tables import directory_metadata, directory_units, directory_users
from salesgrid_common.events.consumer import apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.tables import outbox

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def side_tables() -> list[MetaData]:
    return [directory_metadata]


async def test_outbox_numbers_each_aggregates_events_in_commit_order(sessions: SessionFactory) -> None:
    box = Outbox("identity")
    for aggregate in ("u1", "u2", "u1", "u1", "u2"):
        async with sessions() as session, session.begin():
            await box.record(
                session,
                "salesgrid.identity.user.updated",
                UserState(user_id=aggregate),
                EventMeta(aggregate_id=aggregate),
                NOW,
            )
    async with sessions() as session:
        envelopes = [
            parse_envelope(data)
            for data in await session.scalars(select(outbox.c.envelope).order_by(outbox.c.event_id))
        ]
    assert [(e.aggregate_id, e.aggregate_version) for e in envelopes] == [
        ("u1", 1),
        ("u2", 1),
        ("u1", 2),
        ("u1", 3),
        ("u2", 2),
    ]


def user_event(verb: str, version: int, **fields: object) -> tuple[object, UserState]:
    user = UserState(user_id="u1", login="li.lei", unit_id="t1", time_zone="UTC", **fields)  # type: ignore[arg-type]
    return build_envelope(
        f"salesgrid.identity.user.{verb}", "identity", user, EventMeta(aggregate_id="u1"), NOW, version
    ), user


async def deliver(sessions: SessionFactory, envelope, payload) -> None:  # type: ignore[no-untyped-def]
    sub = directory_subscription("customers")
    _, handler = sub.route(envelope.type)  # type: ignore[misc]
    await apply_once(sessions, sub.name, envelope, handler, payload)


async def test_directory_replica_keeps_the_newest_user_and_unit(sessions: SessionFactory) -> None:
    # v3 (deactivated, moved to /c/r2/) arrives before v2 (active under /c/r1/) redelivered late.
    await deliver(sessions, *user_event("created", 1, display_name="Li", org_path="/c/r1/", active=True))
    await deliver(sessions, *user_event("deactivated", 3, display_name="Li Lei", org_path="/c/r2/", active=False))
    await deliver(sessions, *user_event("updated", 2, display_name="Li L.", org_path="/c/r1/", active=True))
    async with sessions() as session:
        row = (await session.execute(select(directory_users))).one()
    assert (row.display_name, row.org_path, row.active) == ("Li Lei", "/c/r2/", False)

    unit_new = OrgUnitState(unit_id="t1", name="Team One", path="/c/t1/", active=True)
    unit_old = OrgUnitState(unit_id="t1", name="Team 1", path="/c/t1/", active=True)
    for state, version in ((unit_new, 5), (unit_old, 4)):
        await deliver(
            sessions,
            build_envelope(
                "salesgrid.identity.org_unit.updated", "identity", state, EventMeta(aggregate_id="t1"), NOW, version
            ),
            state,
        )
    async with sessions() as session:
        assert await session.scalar(select(directory_units.c.name)) == "Team One"


async def test_unversioned_events_still_apply_in_arrival_order(sessions: SessionFactory) -> None:
    # Events published before versions existed (version 0) keep the old behaviour.
    await deliver(sessions, *user_event("created", 0, display_name="A", org_path="/c/", active=True))
    await deliver(sessions, *user_event("updated", 0, display_name="B", org_path="/c/", active=True))
    async with sessions() as session:
        assert await session.scalar(select(directory_users.c.display_name)) == "B"
