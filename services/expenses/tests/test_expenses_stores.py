"""The expense-policy and approval-step stores and the claim store's queries: each mapper covers
every column both ways, and each query returns domain values with every field as stored -- on
SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_common import approval
from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope
from salesgrid_common.db import SessionFactory
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_expenses import models
from salesgrid_expenses.app import MIGRATIONS
from salesgrid_expenses.claim_events import receipt_attached
from salesgrid_expenses.domain.claims import Category, ClaimStatus, ExpenseClaim, ExpenseLine
from salesgrid_expenses.domain.policy import ExpensePolicy
from salesgrid_expenses.domain.receipts import Receipt
from salesgrid_expenses.policy_events import policy_set
from salesgrid_expenses.stores.approval_steps import insert_steps, is_approver, step_from_row, step_to_row
from salesgrid_expenses.stores.claims import (
    already_claimed,
    claims_page,
    insert_claim,
    load_claim,
    lock_owners_claims,
    reminders_due,
)
from salesgrid_expenses.stores.policies import policies_of_units, policy_from_row, policy_to_row, put_policy

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SZ_POLICY = ExpensePolicy(
    "sz", "CNY", {Category.TRAVEL: Decimal("800.00"), Category.ENTERTAINMENT: Decimal("150.5")}, Decimal("5000")
)


def full_step() -> approval.ApprovalStep:
    """A step with no field left at its default."""
    return approval.ApprovalStep(
        order=2,
        role="director",
        approver_id="boss",
        status=approval.StepStatus.REJECTED,
        activated_at=NOW - timedelta(hours=3),
        decided_at=NOW,
        comment="no receipt",
        reminded_at=NOW - timedelta(hours=1),
    )


def test_the_policy_and_step_mappers_write_every_column_and_read_back_every_field() -> None:
    values = policy_to_row(SZ_POLICY, "admin", NOW)
    assert set(values) == set(models.PolicyRow.__table__.columns.keys())
    assert policy_from_row(models.PolicyRow(**values)) == SZ_POLICY
    assert (values["updated_by"], values["updated_at"]) == ("admin", NOW)
    step = full_step()
    values = step_to_row("x-1", step)
    assert set(values) == set(models.ApprovalStepRow.__table__.columns.keys())
    assert step_from_row(models.ApprovalStepRow(**values)) == step


def test_the_policy_and_receipt_events_are_built_from_the_domain_values() -> None:
    state = policy_set(SZ_POLICY)
    assert (state.org_unit_id, state.currency, state.limits) == ("sz", "CNY", 2)
    receipt = Receipt(2, "taxi.pdf", "application/pdf", 2048, "ab" * 32, id="r-1", created_at=NOW)
    attached = receipt_attached(claim("x-1", "rep-a", ClaimStatus.DRAFT, date(2026, 3, 1), "1.00"), receipt)
    assert (attached.claim_id, attached.receipt_id, attached.line_no) == ("x-1", "r-1", 2)
    assert (attached.content_type, attached.size_bytes, attached.sha256) == ("application/pdf", 2048, "ab" * 32)


@pytest.fixture
async def sessions(migrated: Migrated) -> SessionFactory:
    return await migrated(MIGRATIONS)


async def test_policies_are_upserted_and_read_by_unit(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await put_policy(session, replace(SZ_POLICY, daily_limits={}, director_above=None), "admin", NOW)
        await put_policy(session, ExpensePolicy("root", "USD"), "admin", NOW)
    async with sessions() as session, session.begin():
        await put_policy(session, SZ_POLICY, "finance", NOW + timedelta(days=1))  # replaces the unit's own
    async with sessions() as session:
        assert await policies_of_units(session, ["sz", "root", "gz"]) == {
            "sz": SZ_POLICY,
            "root": ExpensePolicy("root", "USD"),
        }
        stored = await session.get(models.PolicyRow, "sz")
        assert stored is not None and (stored.updated_by, stored.updated_at) == ("finance", NOW + timedelta(days=1))


def claim(claim_id: str, owner_id: str, status: ClaimStatus, spent_on: date, amount: str) -> ExpenseClaim:
    line = ExpenseLine(1, Category.TRAVEL, spent_on, Decimal(amount), "taxi", "v-1", "c-1", "o-1")
    return ExpenseClaim(
        id=claim_id,
        owner_id=owner_id,
        org_unit_id="sz",
        org_path="/c/sz/",
        title=f"claim {claim_id}",
        currency="CNY",
        total=Decimal(amount),
        status=status,
        created_at=NOW,
        lines=(line,),
        submitted_at=NOW if status is not ClaimStatus.DRAFT else None,
        approval_started_at=NOW if status is not ClaimStatus.DRAFT else None,
    )


async def test_claim_queries_return_domain_claims_steps_and_sums(sessions: SessionFactory) -> None:
    day = date(2026, 3, 1)
    submitted = claim("x-1", "rep-a", ClaimStatus.SUBMITTED, day, "120.50")
    draft = claim("x-2", "rep-a", ClaimStatus.DRAFT, day, "99.00")
    paid = claim("x-3", "rep-a", ClaimStatus.PAID, day, "30.25")
    someone_elses = replace(claim("x-4", "rep-b", ClaimStatus.SUBMITTED, day, "10.00"), org_path="/c/gz/")
    waiting = approval.ApprovalStep(1, "supervisor", "boss", activated_at=NOW - timedelta(hours=30))
    fresh = approval.ApprovalStep(1, "supervisor", "boss", activated_at=NOW - timedelta(hours=2))
    async with sessions() as session, session.begin():
        for c in (submitted, draft, paid, someone_elses):
            await insert_claim(session, c)
        insert_steps(session, submitted, [waiting])
        insert_steps(session, someone_elses, [fresh])
    async with sessions() as session, session.begin():
        await lock_owners_claims(session, "rep-a")
        assert await load_claim(session, "x-1", lock=True) == replace(submitted, lines=())
        assert await load_claim(session, "x-9") is None
        assert await already_claimed(session, "rep-a", {day}, "x-9") == {(day, Category.TRAVEL): Decimal("150.75")}
        assert await already_claimed(session, "rep-a", {day}, "x-1") == {(day, Category.TRAVEL): Decimal("30.25")}
        assert await is_approver(session, "x-1", "boss") and not await is_approver(session, "x-1", "rep-a")
        due = await reminders_due(session, NOW, timedelta(hours=24))
        assert due == [(replace(submitted, lines=()), replace(waiting, reminded_at=NOW))]
    async with sessions() as session, session.begin():
        assert await reminders_due(session, NOW + timedelta(hours=1), timedelta(hours=24)) == []  # marked
    branch = Principal("rep-a", "user", "sz", "/c/sz/", {"expenses:read": Scope.SUBTREE})
    async with sessions() as session:
        page = await claims_page(session, branch, "expenses:read", status=None, owner_id="", page_size=2, cursor="")
        assert [view.claim for view in page.items] == [paid, draft]  # newest id first
        assert page.next_token
        rest = await claims_page(
            session, branch, "expenses:read", status=None, owner_id="", page_size=2, cursor=page.next_token
        )
        assert [(view.claim, view.steps) for view in rest.items] == [(submitted, (replace(waiting, reminded_at=NOW),))]
        only = await claims_page(
            session, branch, "expenses:read", status=ClaimStatus.DRAFT, owner_id="rep-a", page_size=10, cursor=""
        )
        assert [view.claim for view in only.items] == [draft]
