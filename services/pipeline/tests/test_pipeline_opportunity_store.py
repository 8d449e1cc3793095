"""The opportunity store: the one mapper covers every column both ways (gate facts the model no
longer reads are kept), saves are versioned, loading is scoped, and the opportunity events are
built from the domain aggregate -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_common.errors import Conflict, NotFound, PermissionDenied
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_dev.testing import principal
from salesgrid_pipeline import models
from salesgrid_pipeline.app import MIGRATIONS
from salesgrid_pipeline.domain.gate_facts import VisitKind, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Competitor, Opportunity, OpportunityProduct
from salesgrid_pipeline.domain.stage_model import StageModel, default_stage_model
from salesgrid_pipeline.payloads import opportunity_state
from salesgrid_pipeline.stores import opportunities as store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
MODEL = default_stage_model()


def full_opportunity() -> Opportunity:
    """An opportunity with no field left at its default."""
    return Opportunity(
        opportunity_id="o-1",
        customer_id="c-1",
        name="Pumps for plant 2",
        owner_id="rep-a",
        org_path="/c/sz/",
        amount=Money(Decimal("1200000.5"), "CNY"),
        expected_close_date=date(2026, 9, 30),
        stage_model="default",
        stage="approval",
        stage_entered_at=NOW - timedelta(days=3),
        created_at=NOW - timedelta(days=30),
        updated_at=NOW - timedelta(days=1),
        status="lost",
        competitors=(Competitor("Grundfos", "brand", Money(Decimal("990000"), "CNY")), Competitor("KSB")),
        products=(OpportunityProduct("p-1", Decimal("2.5")),),
        lost_reason="price",
        facts={
            "budget": Money(Decimal("1500000"), "CNY"),
            "latest_expected_bid_date": date(2026, 6, 1),
            "design_organisations": ("设计院",),
            "decision_chain_visits": (VisitRef("a-1", VisitKind.VISIT),),
        },
        retained_facts={"dropped_fact": "kept as stored"},
        sla_level_notified=2,
        commit=True,
        channel="agent",
        partner_id="pa-1",
        custom_fields={"region_code": "SZ-01"},
        version=4,
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    opportunity = full_opportunity()
    values = store.to_values(opportunity)
    assert set(values) == set(models.Opportunity.__table__.columns.keys())  # a new column must be mapped
    assert None not in values.values()
    assert values["name_key"] == "pumps for plant 2"
    assert values["facts"]["dropped_fact"] == "kept as stored"
    assert store.from_row(models.Opportunity(**values), MODEL) == opportunity  # and read back


def test_the_state_event_is_built_from_the_domain_opportunity() -> None:
    state = opportunity_state(full_opportunity(), MODEL, 7)
    assert (state.opportunity_id, state.amount, state.currency, state.stage) == ("o-1", "1200000.5", "CNY", "approval")
    assert (state.probability, state.stage_model_version, state.commit) == (25, 7, True)
    assert (state.channel, state.partner_id, state.expected_close_date) == ("agent", "pa-1", "2026-09-30")
    assert (state.transition, state.from_stage) == ("", "")
    assert dict(state.custom_fields) == {"region_code": "SZ-01"}


async def test_saves_are_versioned_and_loads_scoped(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    rep = principal("rep-a", "/c/sz/", permissions={"opportunities:read": "own", "opportunities:update": "own"})
    stranger = principal("rep-b", "/c/bj/", permissions={"opportunities:read": "own"})
    stored = replace(full_opportunity(), version=1, status="open", lost_reason="")
    asked: list[tuple[str, int | None]] = []

    async def model_at(code: str, version: int | None) -> StageModel:
        asked.append((code, version))
        return MODEL

    async with sessions() as session, session.begin():
        await store.insert(session, stored)
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict):  # the (customer, name) key is unique
            await store.insert(session, replace(stored, opportunity_id="o-2", name=" pumps FOR plant 2"))
    async with sessions() as session, session.begin():
        loaded = await store.load_in_scope(session, rep, "o-1", "opportunities:update", model_at)
        assert loaded == stored
        assert asked == [("default", None)]  # no stored model: the built-in default's
        assert await store.names_like(session, "c-1", "PUMPS  for plant 2") == ["Pumps for plant 2"]
        assert await store.names_like(session, "c-1", "Pumps for plant 3") == []
        saved = await store.save(session, replace(loaded, commit=False), NOW)
        assert (saved.version, saved.updated_at, saved.commit) == (2, NOW, False)
        with pytest.raises(Conflict):  # a second writer holding version 1 loses
            await store.save(session, replace(loaded, name="other"), NOW)
        with pytest.raises(Conflict):  # as does a caller who read an older version
            await store.save(session, saved, NOW, expected_version=1)
        with pytest.raises(NotFound):
            await store.save(session, replace(saved, opportunity_id="o-9"), NOW)
        # the load reads the version of the stage model the opportunity follows with its row
        session.add(models.StageModelRow(code="default", definition={}, version=3, updated_at=NOW, updated_by="a"))
    async with sessions() as session, session.begin():
        again = await store.load_in_scope(session, rep, "o-1", "opportunities:read", model_at)
        assert again == saved  # what save returned is what is stored
        assert asked[-1] == ("default", 3)
        with pytest.raises(PermissionDenied):
            await store.load_in_scope(session, stranger, "o-1", "opportunities:read", model_at)
        with pytest.raises(NotFound):
            await store.load_in_scope(session, rep, "o-9", "opportunities:read", model_at)
        page, token = await store.page_in_scope(
            session,
            rep,
            "opportunities:read",
            lambda _: MODEL,
            equal={"customer_id": "c-1", "stage": "approval"},
            custom_fields={},
            page_size=10,
            after="",
        )
        assert (page, token) == ([saved], "")
        assert await store.page_in_scope(
            session,
            stranger,
            "opportunities:read",
            lambda _: MODEL,
            equal={},
            custom_fields={},
            page_size=10,
            after="",
        ) == ([], "")
