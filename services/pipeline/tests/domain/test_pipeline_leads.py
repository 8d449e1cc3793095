from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import FailedPrecondition, ValidationFailed
from salesgrid_pipeline.domain.lead_assignment import (
    Assignment,
    AssignmentRule,
    choose_assignee,
    match_rule,
    round_robin_next,
)
from salesgrid_pipeline.domain.leads import (
    Lead,
    LeadStatus,
    assign,
    claim,
    close_invalid,
    convert,
    is_reclaim_due,
    leads_due_for_reclaim,
    new_lead,
    reclaim,
    reclaim_due_at,
    record_follow_up,
)
from salesgrid_pipeline.domain.money import Money

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def pooled(**fields: str) -> Lead:
    return new_lead("lead-1", " 上海某医院 ", NOW, contact_name="王工", region="East", industry="Health", **fields)


def assigned(at: datetime = NOW) -> Lead:
    return assign(pooled(), "rep-1", at)


def test_new_lead_starts_in_pool_trimmed() -> None:
    lead = pooled()
    assert (lead.status, lead.company_name, lead.owner_id) == (LeadStatus.POOL, "上海某医院", None)


def test_new_lead_validation_names_fields() -> None:
    with pytest.raises(ValidationFailed) as info:
        new_lead("l", "  ", NOW, email="nobody", estimated_amount=Money(Decimal("1"), "XXX"))
    assert [f for f, _ in info.value.violations] == ["company_name", "email", "estimated_amount.currency"]


def test_assign_and_claim() -> None:
    lead = assigned()
    assert (lead.status, lead.owner_id, lead.assigned_at) == (LeadStatus.ASSIGNED, "rep-1", NOW)
    claimed = claim(pooled(), "rep-2", NOW)
    assert (claimed.status, claimed.owner_id) == (LeadStatus.ASSIGNED, "rep-2")


def test_claim_only_from_pool() -> None:
    with pytest.raises(FailedPrecondition) as info:
        claim(assigned(), "rep-2", NOW)
    assert info.value.field == "status" and "assigned" in info.value.message


def test_reassign_restarts_the_clock_and_refuses_same_rep() -> None:
    lead = record_follow_up(assigned(NOW - 10 * DAY), NOW - 5 * DAY)
    moved = assign(lead, "rep-2", NOW)
    assert (moved.owner_id, moved.assigned_at, moved.last_followed_up_at) == ("rep-2", NOW, None)
    with pytest.raises(FailedPrecondition) as info:
        assign(moved, "rep-2", NOW)
    assert info.value.field == "rep_id"


def test_reclaim_after_14_days_without_follow_up() -> None:
    lead = assigned(NOW - 14 * DAY)
    assert reclaim_due_at(lead) == NOW
    assert not is_reclaim_due(lead, NOW - timedelta(seconds=1))
    back = reclaim(lead, NOW)
    assert (back.status, back.owner_id, back.assigned_at) == (LeadStatus.POOL, None, None)


def test_follow_up_postpones_reclaim() -> None:
    lead = record_follow_up(assigned(NOW - 20 * DAY), NOW - 10 * DAY)
    assert not is_reclaim_due(lead, NOW)
    with pytest.raises(FailedPrecondition):
        reclaim(lead, NOW)
    assert is_reclaim_due(lead, NOW + 4 * DAY)


def test_older_follow_up_event_does_not_move_clock_back() -> None:
    lead = record_follow_up(assigned(NOW - 20 * DAY), NOW - 2 * DAY)
    assert record_follow_up(lead, NOW - 9 * DAY).last_followed_up_at == NOW - 2 * DAY


def test_reclaim_window_is_configurable() -> None:
    lead = assigned(NOW - 7 * DAY)
    assert is_reclaim_due(lead, NOW, reclaim_after_days=7) and not is_reclaim_due(lead, NOW)
    with pytest.raises(ValidationFailed) as info:
        is_reclaim_due(lead, NOW, reclaim_after_days=0)
    assert info.value.field == "reclaim_after_days"


def test_batch_reclaim_selects_only_overdue_assigned_leads() -> None:
    old, fresh, pool = assigned(NOW - 15 * DAY), assigned(NOW - DAY), pooled()
    assert leads_due_for_reclaim([old, fresh, pool], NOW) == [old]


def test_follow_up_requires_assigned_lead() -> None:
    with pytest.raises(FailedPrecondition):
        record_follow_up(pooled(), NOW)


def test_close_invalid_needs_reason_and_is_final() -> None:
    with pytest.raises(ValidationFailed) as info:
        close_invalid(pooled(), " ", NOW)
    assert info.value.field == "reason"
    closed = close_invalid(assigned(), "duplicate of lead-0", NOW)
    assert (closed.status, closed.closed_reason, closed.closed_at) == (LeadStatus.INVALID, "duplicate of lead-0", NOW)
    for action in (
        lambda: claim(closed, "r", NOW),
        lambda: assign(closed, "r", NOW),
        lambda: convert(closed, NOW),
        lambda: close_invalid(closed, "x", NOW),
    ):
        with pytest.raises(FailedPrecondition):
            action()


def test_convert_plans_customer_and_opportunity() -> None:
    lead = assign(pooled(email="wang@example.com"), "rep-1", NOW)
    lead = replace(lead, estimated_amount=Money(Decimal("9"), "CNY"))
    plan = convert(lead, NOW, opportunity_name="HIS upgrade")
    assert plan.lead.status is LeadStatus.CONVERTED
    assert plan.customer is not None
    assert (plan.customer.name, plan.customer.owner_id, plan.customer.contact_name, plan.customer.email) == (
        "上海某医院",
        "rep-1",
        "王工",
        "wang@example.com",
    )
    assert (plan.opportunity.name, plan.opportunity.owner_id, plan.opportunity.source_lead_id) == (
        "HIS upgrade",
        "rep-1",
        "lead-1",
    )
    assert plan.opportunity.amount == Money(Decimal("9"), "CNY")


def test_convert_onto_existing_customer_defaults_name() -> None:
    plan = convert(assigned(), NOW, existing_customer_id="cust-9")
    assert plan.customer is None and plan.existing_customer_id == "cust-9"
    assert plan.opportunity.name == "上海某医院"


def test_pool_lead_cannot_be_converted_and_converted_lead_is_final() -> None:
    with pytest.raises(FailedPrecondition):
        convert(pooled(), NOW)
    converted = convert(assigned(), NOW).lead
    with pytest.raises(FailedPrecondition):
        reclaim(converted, NOW + 100 * DAY)


def test_round_robin_cycles_in_order() -> None:
    reps = ["a", "b", "c"]
    assert round_robin_next(reps, None) == "a"
    assert round_robin_next(reps, "a") == "b"
    assert round_robin_next(reps, "c") == "a"
    assert round_robin_next(reps, "gone") == "a"


def test_round_robin_rejects_empty_or_duplicate_teams() -> None:
    with pytest.raises(FailedPrecondition):
        round_robin_next([], None)
    with pytest.raises(ValidationFailed) as info:
        round_robin_next(["a", "a"], None)
    assert info.value.field == "rep_ids"


RULES = [
    AssignmentRule(region="east", industry="health", rep_id="specialist"),
    AssignmentRule(region="ＥＡＳＴ", team_id="east-team"),
    AssignmentRule(team_id="default-team"),
]


def test_first_matching_rule_wins_case_and_width_insensitive() -> None:
    assert match_rule(RULES, "East", "Health") is RULES[0]
    assert match_rule(RULES, "east", "Retail") is RULES[1]
    assert match_rule(RULES, "West", "Health") is RULES[2]
    assert match_rule(RULES[:2], "West", "Health") is None


def test_choose_assignee_by_rule_then_round_robin() -> None:
    teams = {"east-team": ["e1", "e2"], "default-team": ["d1"]}
    assert choose_assignee(pooled(), RULES, teams, {}) == Assignment("specialist", None)
    retail = new_lead("l2", "Shop", NOW, region="east", industry="retail")
    assert choose_assignee(retail, RULES, teams, {"east-team": "e1"}) == Assignment("e2", "east-team")
    assert choose_assignee(retail, RULES[:1], teams, {}) is None


def test_rules_need_exactly_one_target_and_known_team() -> None:
    with pytest.raises(ValidationFailed) as info:
        choose_assignee(pooled(), [AssignmentRule(rep_id="a", team_id="t")], {}, {})
    assert info.value.field == "rules[0]"
    with pytest.raises(FailedPrecondition) as info2:
        choose_assignee(pooled(), [AssignmentRule(team_id="ghost")], {}, {})
    assert info2.value.field == "team_id"
