"""The lead store: the one mapper covers every column both ways, saves write the next version, and
loading is scoped (the owner's scope, or the pool of the caller's unit and the units above it) --
on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_common.errors import NotFound, PermissionDenied
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_dev.testing import principal
from salesgrid_pipeline import models
from salesgrid_pipeline.app import MIGRATIONS
from salesgrid_pipeline.domain.leads import Lead, LeadStatus
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.payloads import lead_state
from salesgrid_pipeline.stores import leads as store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_lead() -> Lead:
    """A lead with no field left at its default."""
    return Lead(
        lead_id="l-1",
        company_name="Acme Pumps",
        created_at=NOW - timedelta(days=9),
        status=LeadStatus.INVALID,
        contact_name="Li Lei",
        phone="+86 755 1234",
        email="li@acme.example",
        region="south",
        industry="water",
        source="fair",
        estimated_amount=Money(Decimal("50000"), "CNY"),
        owner_id="rep-a",
        assigned_at=NOW - timedelta(days=8),
        last_followed_up_at=NOW - timedelta(days=2),
        closed_reason="duplicate",
        closed_at=NOW,
        org_path="/c/sz/",
        created_by="mgr",
        version=5,
        custom_fields={"region_code": "SZ-01"},
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    lead = full_lead()
    row = models.Lead()
    store.to_row(lead, row)
    assert [c for c in models.Lead.__table__.columns.keys() if getattr(row, c) is None] == []
    assert (row.estimated_amount, row.estimated_currency) == ("50000", "CNY")  # the scale as given
    assert store.from_row(row) == lead
    state = lead_state(lead, "rep-z")
    assert (state.status, state.owner_id, state.previous_owner_id, state.closed_reason) == (
        "invalid",
        "rep-a",
        "rep-z",
        "duplicate",
    )


async def test_saves_are_versioned_and_loads_scoped(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    rep = principal("rep-a", "/c/sz/t1/", permissions={"leads:read": "own", "leads:update": "own"})
    other = principal("rep-b", "/c/bj/", permissions={"leads:read": "own"})
    pooled = replace(
        full_lead(),
        status=LeadStatus.POOL,
        owner_id=None,
        assigned_at=None,
        closed_reason=None,
        closed_at=None,
        version=1,
    )
    async with sessions() as session, session.begin():
        store.insert(session, pooled)
    async with sessions() as session, session.begin():
        loaded = await store.load_in_scope(session, rep, "l-1", "leads:update")  # the pool above him
        assert loaded == pooled
        with pytest.raises(PermissionDenied):  # another branch's pool
            await store.load_in_scope(session, other, "l-1", "leads:read")
        with pytest.raises(NotFound):
            await store.load_in_scope(session, rep, "l-9", "leads:read")
        saved = await store.save(session, replace(loaded, status=LeadStatus.ASSIGNED, owner_id="rep-a"))
        assert saved.version == 2
    async with sessions() as session:
        assert await store.load(session, "l-1") == saved
        assert await store.assigned(session) == [saved]
        page = await store.page_in_scope(
            session, other, "leads:read", status="", owner_id="", custom_fields={}, page_size=10, after=""
        )
        assert page == ([], "")
