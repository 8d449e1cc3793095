"""The lead assignment and discount policy stores: each mapper covers every column both ways, the
rule table is replaced in order, a team's round-robin position is read and advanced, the
directory answers the rules are checked against, and a unit's policy is set and read back in one
query -- on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from salesgrid_dev.directory_seed import add_unit, add_user
from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_pipeline import models
from salesgrid_pipeline.app import MIGRATIONS
from salesgrid_pipeline.domain.discounts import DiscountPolicy
from salesgrid_pipeline.domain.lead_assignment import AssignmentRule
from salesgrid_pipeline.payloads import discount_policy_set
from salesgrid_pipeline.stores import discount_policies as policy_store
from salesgrid_pipeline.stores import lead_assignment as store

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_rule_mapper_writes_every_column_and_reads_back_every_field() -> None:
    for rule in (AssignmentRule("south", "water", rep_id="rep-a"), AssignmentRule("north", "", team_id="t-1")):
        row = store.to_row(3, rule)
        assert [c for c in models.LeadAssignmentRule.__table__.columns.keys() if getattr(row, c) is None] == []
        assert row.position == 3
        assert store.from_row(row) == rule


def test_the_policy_mapper_writes_every_column_and_the_event_is_built_from_the_policy() -> None:
    policy = DiscountPolicy("sz", Decimal("12.5"), Decimal("30"))
    row = models.DiscountPolicyRow()
    policy_store.to_row(policy, row, "admin", NOW)
    assert [c for c in models.DiscountPolicyRow.__table__.columns.keys() if getattr(row, c) is None] == []
    assert (row.threshold_percent, row.updated_by, row.updated_at) == ("12.5", "admin", NOW)
    assert policy_store.from_row(row) == policy
    event = discount_policy_set(policy)
    assert (event.org_unit_id, event.threshold_percent, event.director_above_percent) == ("sz", "12.5", "30")


async def test_rules_round_robin_and_directory_answers(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    rules = [AssignmentRule("south", "water", rep_id="rep-a"), AssignmentRule("", "", team_id="t-1")]
    async with sessions() as session, session.begin():
        await store.replace_rules(session, [AssignmentRule("old", "", rep_id="rep-z")] * 3)
    async with sessions() as session, session.begin():
        await store.replace_rules(session, rules)  # the old table goes, positions are reused
        await add_unit(session, "t-1", "/c/t-1/", at=NOW)
        await add_unit(session, "t-2", "/c/t-2/", active=False, at=NOW)
        await add_user(session, "rep-c", "/c/t-1/", at=NOW)
        await add_user(session, "rep-b", "/c/t-1/", roles="manager,rep", at=NOW)
        await add_user(session, "mgr-1", "/c/t-1/", roles="manager", at=NOW)
        await add_user(session, "rep-d", "/c/t-1/", active=False, at=NOW)
    async with sessions() as session, session.begin():
        assert await store.rules(session) == rules
        assert await store.team_reps(session, "t-1") == ["rep-b", "rep-c"]  # active reps, in id order
        assert await store.active_unit_path(session, "t-1") == "/c/t-1/"
        assert await store.active_unit_path(session, "t-2") is None  # inactive
        assert await store.active_unit_path(session, "t-9") is None
        assert await store.last_assignee(session, "t-1") is None
        await store.advance(session, "t-1", "rep-b", first=True)
    async with sessions() as session, session.begin():
        assert await store.last_assignee(session, "t-1") == "rep-b"
        await store.advance(session, "t-1", "rep-c", first=False)
    async with sessions() as session, session.begin():
        assert await store.last_assignee(session, "t-1") == "rep-c"
        assert await store.last_assignee(session, "t-2") is None


async def test_policies_are_set_and_read_back(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    first = DiscountPolicy("sz", Decimal("12.5"), Decimal("30"))
    async with sessions() as session, session.begin():
        await policy_store.save(session, first, "admin", NOW)
        await policy_store.save(session, DiscountPolicy("c", Decimal("5"), Decimal("15")), "admin", NOW)
    changed = DiscountPolicy("sz", Decimal("8.25"), Decimal("40"))
    async with sessions() as session, session.begin():
        await policy_store.save(session, changed, "admin-2", NOW + timedelta(days=1))
    async with sessions() as session, session.begin():
        assert await policy_store.own_policies(session, ["t-1", "sz", "c"]) == {
            "sz": changed,
            "c": DiscountPolicy("c", Decimal("5"), Decimal("15")),
        }
        assert await policy_store.own_policies(session, ["t-1"]) == {}
        row = await session.get(models.DiscountPolicyRow, "sz")
        assert row is not None and (row.updated_by, row.updated_at) == ("admin-2", NOW + timedelta(days=1))
