"""The expense-claim store: its mappers cover every column both ways, the claim's steps are
domain steps, and saves are versioned -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from salesgrid_common import approval
from salesgrid_common.errors import Conflict
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_expenses import models
from salesgrid_expenses.app import MIGRATIONS
from salesgrid_expenses.claim_events import claim_state
from salesgrid_expenses.domain.claims import Category, ClaimStatus, ExpenseClaim, ExpenseLine
from salesgrid_expenses.stores.approval_steps import insert_steps
from salesgrid_expenses.stores.claims import (
    claim_from_row,
    claim_to_row,
    claim_view,
    insert_claim,
    line_to_row,
    load_claim,
    save_claim,
)

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_claim() -> ExpenseClaim:
    """A claim with no field left at its default."""
    line = ExpenseLine(1, Category.TRAVEL, date(2026, 3, 1), Decimal("120.50"), "taxi", "v-1", "c-1", "o-1")
    return ExpenseClaim(
        id="x-1",
        owner_id="rep-a",
        org_unit_id="sz",
        org_path="/c/sz/",
        title="Shenzhen trip",
        currency="CNY",
        total=Decimal("120.50"),
        status=ClaimStatus.PAID,
        created_at=NOW,
        lines=(line,),
        submitted_at=NOW,
        approval_started_at=NOW,
        decided_at=NOW,
        paid_on=date(2026, 3, 5),
        payment_reference="PAY-7",
        version=5,
    )


def test_the_mappers_write_every_column_and_read_back_every_field() -> None:
    claim = full_claim()
    values = claim_to_row(claim)
    assert set(values) == set(models.Claim.__table__.columns.keys())  # a new column must be mapped
    line_values = line_to_row(claim, claim.lines[0])
    assert set(line_values) == set(models.ClaimLine.__table__.columns.keys())
    assert claim_from_row(models.Claim(**values), [models.ClaimLine(**line_values)]) == claim
    state = claim_state(claim)
    assert (state.status, state.total, state.paid_on, state.lines[0].amount) == (
        "paid",
        "120.50",
        "2026-03-05",
        "120.50",
    )


async def test_saves_are_versioned_and_views_carry_domain_steps(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    draft = replace(
        full_claim(),
        status=ClaimStatus.DRAFT,
        version=1,
        submitted_at=None,
        approval_started_at=None,
        decided_at=None,
        paid_on=None,
        payment_reference=None,
    )
    async with sessions() as session, session.begin():
        await insert_claim(session, draft)
        insert_steps(session, draft, [approval.ApprovalStep(1, "manager", "boss", activated_at=NOW)])
        submitted = await save_claim(session, draft, draft.submitted(NOW))
        assert (submitted.version, submitted.status) == (2, ClaimStatus.SUBMITTED)
        with pytest.raises(Conflict):  # a writer holding version 1 loses
            await save_claim(session, draft, draft.submitted(NOW))
    async with sessions() as session:
        loaded = await load_claim(session, "x-1")
        assert loaded is not None
        view = await claim_view(session, loaded)
        assert view.claim == submitted
        assert view.steps == (approval.ApprovalStep(1, "manager", "boss", activated_at=NOW),)
