"""The target store and the fact loaders: the target mapper covers every column both ways, a
holder's target is set once and replaced, the report reads are one query each (set-based, not one
per row), and stored facts load back as the domain facts they were -- on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from salesgrid_analytics import factstore
from salesgrid_analytics.app import MIGRATIONS
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.metrics import Metric
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.targets import Holder, Target
from salesgrid_analytics.models import TargetRow
from salesgrid_analytics.stores import targets as store
from salesgrid_analytics.stores import units
from salesgrid_common.db import create_engine, session_factory
from salesgrid_dev.migrated import migrate
from salesgrid_dev.directory_seed import add_unit

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def target(
    amount: str,
    period: str = "2026-Q2",
    org_path: str = "/c/sz",
    rep_id: str | None = "rep-a",
    metric: Metric = Metric.CONTRACT_AMOUNT,
    currency: str | None = "CNY",
) -> Target:
    return Target(metric, parse_period(period), Holder(org_path, rep_id), Decimal(amount), currency)


@contextmanager
def counted(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        if args[2].lstrip().upper().startswith("SELECT"):
            statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def test_the_target_mapper_writes_every_column_and_reads_back_every_field() -> None:
    for held in (target("125000.50"), target("40", rep_id=None, metric=Metric.VISITS, currency=None)):
        row = TargetRow(id="t-1")
        store.to_row(held, row, "mgr-1", NOW)
        unset = [c for c in TargetRow.__table__.columns.keys() if getattr(row, c) is None]
        assert unset == ([] if held.currency else ["currency"])  # a count has no currency
        assert (row.org_path, row.period, row.updated_by, row.updated_at) == ("/c/sz/", "2026-Q2", "mgr-1", NOW)
        assert row.rep_id == (held.holder.rep_id or "")
        assert store.from_row(row) == held


async def test_targets_are_set_once_and_read_in_one_query(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    rep_q2 = target("100000")
    unit_q2 = target("300000", rep_id=None)
    unit_year = target("900000", period="2026", rep_id=None)
    other_unit = target("5", org_path="/c/bj", rep_id=None, metric=Metric.VISITS, currency=None)
    usd = target("700", period="2026-05", currency="USD")
    try:
        async with sessions() as session, session.begin():
            for held in (target("1"), unit_q2, unit_year, other_unit, usd):
                await store.save(session, held, "mgr-1", NOW)
        async with sessions() as session, session.begin():
            await store.save(session, rep_q2, "mgr-2", NOW + timedelta(days=1))  # replaces rep-a's Q2 target
        async with sessions() as session:
            rows = (await session.scalars(select(TargetRow).where(TargetRow.rep_id == "rep-a"))).all()
            assert sorted((r.period, r.updated_by) for r in rows) == [("2026-05", "mgr-1"), ("2026-Q2", "mgr-2")]
            with counted(engine) as statements:
                everything = await store.matching(session, "/", None, None, None)
                in_sz = await store.matching(session, "/c/sz/", None, Metric.CONTRACT_AMOUNT, None)
                reps_q2 = await store.matching(session, "/c/sz/", "rep-a", None, parse_period("2026-Q2"))
                of_rep = await store.of_holder(session, Metric.CONTRACT_AMOUNT, "CNY", "/c/sz/", "rep-a")
                of_unit = await store.of_holder(session, Metric.CONTRACT_AMOUNT, "CNY", "/c/sz/", None)
            assert len(statements) == 5  # one query each
            # by metric, holder (unit before its reps) and period
            assert everything == [unit_year, unit_q2, usd, rep_q2, other_unit]
            assert in_sz == [unit_year, unit_q2, usd, rep_q2]
            assert reps_q2 == [rep_q2]
            assert of_rep == [rep_q2]  # the USD target is another currency
            assert sorted(of_unit, key=lambda t: t.period.label) == [unit_year, unit_q2]
    finally:
        await engine.dispose()


async def test_facts_load_back_as_domain_facts_in_one_query(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    created = f.OpportunityCreated(
        event_id="e-1",
        occurred_at=NOW,
        owner_id="rep-a",
        org_path="/c/sz",
        opportunity_id="o-1",
        stage="bidding",
        amount=Decimal("1200.50"),
        currency="CNY",
        expected_close=date(2026, 6, 30),
        stage_model="retail",
        probability=60,
        channel="partner",
        partner_id="p-1",
    )
    signed = f.ContractSigned(
        event_id="e-2",
        occurred_at=NOW + timedelta(hours=1),
        owner_id="rep-b",
        org_path="/c/bj",
        amount=Decimal("99"),
        currency="USD",
        contract_id="k-1",
    )
    try:
        async with sessions() as session, session.begin():
            assert await factstore.store_fact(session, created)
            assert await factstore.store_fact(session, signed)
            await factstore.store(session, factstore.USER_CREATED, "e-3", NOW, "rep-c", "/c/sz/t1", {})
        async with sessions() as session:
            with counted(engine) as statements:
                everything = await factstore.load_facts(session, "/")
                facts, users = await factstore.load_with_users(session, "/c/sz/")
                own = await factstore.load_facts(session, "/", "rep-b")
            assert len(statements) == 3  # one query each
            assert everything == [created, signed]  # every field read back; no reducer reads user_created
            assert facts == [created]
            assert users == [factstore.UserCreated(NOW, "rep-c", "/c/sz/t1/")]
            assert own == [signed]
    finally:
        await engine.dispose()


async def test_a_units_calendar_and_currency_are_read_together(database_url: str) -> None:
    await asyncio.to_thread(migrate, MIGRATIONS, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            await add_unit(session, "sz", "/c/sz/", name="Shenzhen", currency="HKD", at=NOW)
        async with sessions() as session:
            with counted(engine) as statements:
                assert await units.settings(session, "/c/sz") == ("Asia/Shanghai", "HKD")
                assert await units.settings(session, "/c/bj") == (None, None)  # not replicated yet
                assert await units.settings(session, "/") == (None, None)  # the root: no query at all
            assert len(statements) == 2
    finally:
        await engine.dispose()
