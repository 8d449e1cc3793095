"""A follow-up's write transaction on SQLite's writer runs its statements on the driver connection
(salesgrid_common.driver_writes / driver_statements: the survivor lookup, the follow-up insert,
the aggregate version, the outbox row); on SQLite and PostgreSQL:

- the follow-up row the driver writes is, column for column as the database holds it, the row
  SQLAlchemy's execute writes (full and bare follow-ups: dates, datetimes, NULLs);
- LogFollowUp runs none of its statements through SQLAlchemy on SQLite (all of them on
  PostgreSQL), and its follow-up and outbox row (with the aggregate version) commit together;
- a failure after the insert and the event leaves neither (the outbox guarantee)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.customer_merges import record_merge
from salesgrid_common.db import SessionFactory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.events.tables import aggregate_versions, outbox
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_dev.testing import principal
from salesgrid_activities.app import MIGRATIONS
from salesgrid_activities.domain.follow_ups import FollowUp, FollowUpKind
from salesgrid_activities.models import FollowUpRow
from salesgrid_activities.stores.follow_ups import _INSERT, follow_up_to_row, insert_follow_up
from salesgrid_activities.usecases import ActivitiesUseCases

NOW = datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=UTC)
REP = principal("rep-a", "/c/sz/", "sz", {"activities:create": "own", "activities:read": "own"})


def follow_ups(prefix: str) -> list[FollowUp]:
    full = FollowUp(
        kind=FollowUpKind.VISIT,
        occurred_at=NOW,
        notes="demo at the plant — 工厂",
        customer_id="c-1",
        contact_id="k-1",
        opportunity_id="o-1",
        lead_id="l-1",
        next_follow_up_on=date(2026, 3, 9),
    ).logged(id=f"{prefix}-1", owner_id="rep-a", org_path="/c/sz/", now=NOW)
    bare = replace(
        full,
        id=f"{prefix}-2",
        kind=FollowUpKind.CALL,
        notes="",
        customer_id=None,
        contact_id=None,
        opportunity_id=None,
        lead_id=None,
        next_follow_up_on=None,
    )
    return [full, bare]


async def stored(sessions: SessionFactory, prefix: str) -> list[tuple[Any, ...]]:
    """The follow-up rows with ids starting `prefix`, as the database holds them, id left out."""
    async with sessions() as session:
        found = await session.execute(
            text("SELECT * FROM follow_ups WHERE id LIKE :p ORDER BY id"), {"p": f"{prefix}-%"}
        )
        return [tuple(value for key, value in row._mapping.items() if key != "id") for row in found]


def count_sqlalchemy(monkeypatch: pytest.MonkeyPatch, sessions: SessionFactory) -> list[Any]:
    """The statements the sessions run through SQLAlchemy's execute from now on."""
    seen: list[Any] = []
    cls: Any = sessions.class_
    execute = cls.execute

    async def counting(self: AsyncSession, statement: Any, params: Any = None, **kw: Any) -> Any:
        seen.append(statement)
        return await execute(self, statement, params, **kw)

    monkeypatch.setattr(cls, "execute", counting)
    return seen


async def test_the_driver_writes_the_follow_up_row_sqlalchemy_writes(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    async with sessions() as session, session.begin():
        for follow_up in follow_ups("sa"):
            await session.execute(_INSERT, follow_up_to_row(follow_up))
    async with sessions() as session, session.begin():
        for follow_up in follow_ups("drv"):
            await insert_follow_up(session, follow_up)
    expected = await stored(sessions, "sa")
    assert len(expected) == 2 and None in expected[1]
    assert await stored(sessions, "drv") == expected


async def test_a_logged_follow_up_and_its_event_commit_together_past_sqlalchemy_on_sqlite(
    migrated: Migrated, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = await migrated(MIGRATIONS)
    async with sessions() as session, session.begin():  # a merged customer: the lookup finds a row
        await record_merge(session, "c-survivor", ["c-merged"], NOW)
    uc = ActivitiesUseCases(sessions, Outbox("activities"), lambda: NOW)
    seen = count_sqlalchemy(monkeypatch, sessions)
    logged = await uc.log_follow_up(
        REP,
        kind="call",
        occurred_at=NOW,
        notes="called",
        customer_id="c-merged",
        contact_id="",
        opportunity_id="",
        lead_id="",
        next_follow_up_on="",
    )
    sqlite = sessions.kw["bind"].dialect.name == "sqlite"
    # the survivor lookup, the insert, the aggregate version, the outbox row (PostgreSQL: and the
    # merge locks, the lookup again under the survivor's)
    assert len(seen) == (0 if sqlite else 7), seen
    monkeypatch.undo()
    assert logged.customer_id == "c-survivor"
    async with sessions() as session:
        row = (await session.execute(select(FollowUpRow))).scalar_one()
        box = (await session.execute(select(outbox))).one()
        versions = (await session.execute(select(aggregate_versions))).all()
    assert (row.id, row.customer_id, row.occurred_at, row.created_at) == (logged.id, "c-survivor", NOW, NOW)
    envelope = Envelope.FromString(box.envelope)
    event = ActivitiesFollowUpLogged.FromString(envelope.payload)
    assert (envelope.aggregate_id, envelope.aggregate_version, event.follow_up_id) == (logged.id, 1, logged.id)
    assert (box.event_id, box.created_at, box.attempts) == (envelope.event_id, NOW, 0)
    assert [tuple(v) for v in versions] == [(logged.id, 1)]


async def test_a_failure_after_the_event_leaves_neither_follow_up_nor_event(
    migrated: Migrated, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = await migrated(MIGRATIONS)
    box = Outbox("activities")
    record = box.record

    async def recorded_then_failing(*args: Any, **kwargs: Any) -> str:
        await record(*args, **kwargs)
        raise RuntimeError("the process fails before the commit")

    monkeypatch.setattr(box, "record", recorded_then_failing)
    uc = ActivitiesUseCases(sessions, box, lambda: NOW)
    with pytest.raises(RuntimeError):
        await uc.log_follow_up(
            REP,
            kind="call",
            occurred_at=NOW,
            notes="called",
            customer_id="c-1",
            contact_id="",
            opportunity_id="",
            lead_id="",
            next_follow_up_on="",
        )
    async with sessions() as session:
        for table in ("follow_ups", "outbox", "aggregate_versions"):
            assert (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0
