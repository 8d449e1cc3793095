"""The quote store: the one mapper covers every column both ways (lines with their snapshot
pricing), the quote events are built from the domain quote, and an opportunity's versions and an
approver's inbox load in one query each -- on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_common import approval
from salesgrid_common.errors import Conflict, NotFound
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_pipeline import models
from salesgrid_pipeline.app import MIGRATIONS
from salesgrid_pipeline.domain import quotes as rules
from salesgrid_pipeline.payloads import discount_step, quote_state
from salesgrid_pipeline.stores import quotes as store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def full_quote() -> rules.Quote:
    """A quote with no field left at its default."""
    lines = (
        rules.QuoteLine(
            "p-1", "Pump", Decimal("1000.50"), Decimal("3"), rules.Discount(rules.DiscountKind.PERCENT, Decimal("15"))
        ),
        rules.QuoteLine(
            "p-2", "Valve", Decimal("99.99"), Decimal("1.5"), rules.Discount(rules.DiscountKind.AMOUNT, Decimal("10"))
        ),
        rules.QuoteLine("p-3", "Service", Decimal("300"), Decimal("1")),
    )
    return rules.Quote(
        quote_id="q-1",
        opportunity_id="o-1",
        version=2,
        currency="CNY",
        lines=lines,
        pricing=rules.price_quote(lines, "CNY"),
        status=rules.QuoteStatus.ACCEPTED,
        created_at=NOW - timedelta(days=2),
        created_by="rep-a",
        accepted_at=NOW,
        accepted_by="rep-a",
        owner_id="rep-a",
        org_path="/c/sz/",
        contract_id="k-1",
        discount_rate=Decimal("15.00"),
        discount_approval="approved",
        approval_started_at=NOW - timedelta(days=1),
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    quote = full_quote()
    row = models.Quote()
    store.to_row(quote, row)
    unset = [c for c in models.Quote.__table__.columns.keys() if getattr(row, c) is None]
    assert unset == []  # a new column must be mapped
    assert (row.subtotal, row.discount_total, row.total) == ("3451.49", "460.23", "2991.26")
    assert row.lines[0]["net"] == "2551.27"
    assert store.from_row(row) == quote  # and read back


def test_the_events_are_built_from_the_domain_quote() -> None:
    state = quote_state(full_quote(), "c-1", "q-0")
    assert (state.quote_id, state.total, state.status, state.customer_id) == ("q-1", "2991.26", "accepted", "c-1")
    assert (state.superseded_quote_id, state.contract_id, state.discount_rate) == ("q-0", "k-1", "15.00")
    assert list(state.product_ids) == ["p-1", "p-2", "p-3"]
    step = approval.ApprovalStep(1, "manager", "mgr-1", approval.StepStatus.APPROVED, NOW, NOW, None)
    event = discount_step(full_quote(), step)
    assert (event.step_order, event.status, event.comment, event.submitted_by) == (1, "approved", "", "rep-a")


async def test_versions_inbox_and_steps_load_in_one_query_each(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    first = replace(
        full_quote(),
        quote_id="q-0",
        version=1,
        status=rules.QuoteStatus.SUPERSEDED,
        accepted_at=None,
        accepted_by=None,
        contract_id="",
    )
    pending = replace(
        full_quote(),
        status=rules.QuoteStatus.CURRENT,
        accepted_at=None,
        accepted_by=None,
        contract_id="",
        discount_approval="pending",
    )
    async with sessions() as session, session.begin():
        await store.insert(session, first)
        await store.insert(session, pending)
        steps = approval.start_approval(
            [approval.ApprovalStep(1, "manager", "mgr-1"), approval.ApprovalStep(2, "director", "dir-1")], NOW
        ).steps
        session.add_all(store.new_step_rows("q-1", steps))
    async with sessions() as session, session.begin():
        with pytest.raises(Conflict):  # the version number is unique per opportunity
            await store.insert(session, replace(pending, quote_id="q-9"))
    async with sessions() as session, session.begin():
        assert await store.versions(session, "o-1") == [first, pending]
        assert await store.awaiting(session, "mgr-1") == [pending]
        assert await store.awaiting(session, "dir-1") == []  # not his turn yet
        found = await store.steps_of(session, ["q-1", "q-0"])
        assert [(s.order, s.status, s.approver_id) for s in found["q-1"]] == [
            (1, approval.StepStatus.PENDING, "mgr-1"),
            (2, approval.StepStatus.PENDING, "dir-1"),
        ]
        assert "q-0" not in found
        accepted = replace(pending, status=rules.QuoteStatus.ACCEPTED, accepted_at=NOW, accepted_by="rep-a")
        await store.save(session, accepted)
    async with sessions() as session, session.begin():
        assert await store.load(session, "q-1", lock=True) == accepted
        with pytest.raises(NotFound):
            await store.load(session, "q-9")


async def test_a_decided_flow_is_saved_onto_its_steps_and_reminders_are_marked(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    pending = replace(
        full_quote(),
        status=rules.QuoteStatus.CURRENT,
        accepted_at=None,
        accepted_by=None,
        contract_id="",
        discount_approval="pending",
    )
    later = NOW + timedelta(hours=2)
    async with sessions() as session, session.begin():
        await store.insert(session, pending)
        flow = approval.start_approval(
            [approval.ApprovalStep(1, "manager", "mgr-1"), approval.ApprovalStep(2, "director", "dir-1")], NOW
        )
        store.add_steps(session, "q-1", flow.steps)
    async with sessions() as session, session.begin():
        assert await store.steps(session, "q-1") == list(flow.steps)
        decided = approval.approve_step(flow, "mgr-1", later, "fine")
        steps, happened = await store.save_steps(session, "q-1", decided)
        assert steps == list(decided.steps)
        assert [(s.order, s.status, verb) for s, verb in happened] == [
            (1, approval.StepStatus.APPROVED, "approved"),
            (2, approval.StepStatus.PENDING, "activated"),
        ]
    async with sessions() as session, session.begin():
        assert await store.steps(session, "q-1") == list(decided.steps)  # every field written
        assert await store.due_reminders(session, later + timedelta(hours=1), timedelta(hours=24)) == []
        due = await store.due_reminders(session, later + timedelta(hours=24), timedelta(hours=24))
        assert [(s.order, s.approver_id, s.reminded_at, q) for s, q in due] == [
            (2, "dir-1", later + timedelta(hours=24), pending)
        ]
    async with sessions() as session, session.begin():
        assert (await store.steps(session, "q-1"))[1].reminded_at == later + timedelta(hours=24)
        assert await store.due_reminders(session, later + timedelta(hours=25), timedelta(hours=24)) == []
