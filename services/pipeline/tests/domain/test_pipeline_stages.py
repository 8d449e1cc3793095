from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_pipeline.domain.gate_facts import FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel
from salesgrid_pipeline.domain.stages import (
    GateRejected,
    OpportunityState,
    TransitionKind,
    advance,
    apply_transition,
    ensure_open,
    gate_violation,
    lose,
    regress,
    update_facts,
    win,
)

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
ENTERED = NOW - timedelta(days=3)


def state(stage: str = "opportunity", facts: dict[str, FactValue] | None = None) -> OpportunityState:
    return OpportunityState("opp-1", stage, ENTERED, facts or {})


def test_advance_with_all_facts_returns_transition(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    transition = advance(state(), "approval", approval_facts, model, "rep-1", NOW)
    assert (transition.from_stage, transition.to_stage, transition.at, transition.by) == (
        "opportunity",
        "approval",
        NOW,
        "rep-1",
    )
    assert transition.kind is TransitionKind.ADVANCE
    assert dict(transition.facts) == approval_facts
    new_state = apply_transition(state(), transition)
    assert (new_state.stage_code, new_state.entered_at) == ("approval", NOW)


def test_advance_without_facts_is_rejected_with_every_missing_fact(
    model: StageModel, approval_facts: dict[str, FactValue]
) -> None:
    partial = {k: v for k, v in approval_facts.items() if k not in {"budget", "decision_chain_visits"}}
    with pytest.raises(GateRejected) as info:
        advance(state(), "approval", partial, model, "rep-1", NOW)
    rejection = info.value
    assert isinstance(rejection, FailedPrecondition)
    assert [(p.code, p.problem) for p in rejection.problems] == [
        ("budget", "missing"),
        ("decision_chain_visits", "missing"),
    ]
    assert ("facts.budget", "Budget / 预算 is required") in rejection.violations
    assert (rejection.reason, rejection.category) == ("STAGE_GATE_UNMET", "FAILED_PRECONDITION")
    assert rejection.info == {
        "target_stage": "approval",
        "missing_facts": "budget,decision_chain_visits",
        "invalid_facts": "",
        "unskippable_stages": "",
    }


def test_invalid_fact_values_reject_the_gate(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    too_few = {
        **approval_facts,
        "decision_chain_visits": (VisitRef("v1", VisitKind.VISIT), VisitRef("c1", VisitKind.CALL)),
    }
    with pytest.raises(GateRejected) as info:
        advance(state(), "approval", too_few, model, "rep-1", NOW)
    assert [(p.code, p.problem) for p in info.value.problems] == [("decision_chain_visits", "invalid")]


def test_facts_already_recorded_count_towards_the_gate(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    transition = advance(state(facts=approval_facts), "approval", {}, model, "rep-1", NOW)
    assert transition.to_stage == "approval"


def test_supplied_facts_override_recorded_ones(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    new_budget = Money(Decimal("2000000"), "CNY")
    transition = advance(state(facts=approval_facts), "approval", {"budget": new_budget}, model, "rep-1", NOW)
    assert transition.facts["budget"] == new_budget


def test_invalid_value_for_a_later_stage_fact_is_rejected_too(
    model: StageModel, approval_facts: dict[str, FactValue]
) -> None:
    with pytest.raises(GateRejected) as info:
        advance(state(), "approval", {**approval_facts, "expected_bid_date": "soon"}, model, "rep-1", NOW)
    assert [(p.code, p.problem) for p in info.value.problems] == [("expected_bid_date", "invalid")]
    assert (info.value.reason, info.value.info["invalid_facts"]) == ("STAGE_GATE_UNMET", "expected_bid_date")
    assert info.value.info["missing_facts"] == ""


def test_unknown_fact_code_is_bad_input(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    with pytest.raises(ValidationFailed) as info:
        advance(state(), "approval", {**approval_facts, "colour": "red"}, model, "rep-1", NOW)
    assert info.value.field == "facts.colour"


def test_stages_cannot_be_skipped(
    model: StageModel, approval_facts: dict[str, FactValue], formal_facts: dict[str, FactValue]
) -> None:
    with pytest.raises(GateRejected) as info:
        advance(state(), "formal_communication", {**approval_facts, **formal_facts}, model, "rep-1", NOW)
    assert info.value.unskippable_stages == ("approval",)
    assert info.value.problems == ()


def _skippable(model: StageModel, code: str) -> StageModel:
    return replace(model, stages=tuple(replace(s, skippable=True) if s.code == code else s for s in model.stages))


def test_skippable_stage_can_be_jumped_but_its_gate_still_applies(
    model: StageModel, approval_facts: dict[str, FactValue], formal_facts: dict[str, FactValue]
) -> None:
    lenient = _skippable(model, "approval")
    with pytest.raises(GateRejected) as info:
        advance(state(), "formal_communication", formal_facts, lenient, "rep-1", NOW)
    assert info.value.unskippable_stages == ()
    assert {p.code for p in info.value.problems} == {f for f in approval_facts}
    transition = advance(state(), "formal_communication", {**approval_facts, **formal_facts}, lenient, "rep-1", NOW)
    assert transition.skipped_stages == ("approval",)


def test_full_walk_to_won(
    model: StageModel,
    approval_facts: dict[str, FactValue],
    formal_facts: dict[str, FactValue],
    bidding_facts: dict[str, FactValue],
    won_facts: dict[str, FactValue],
) -> None:
    current = state()
    for target, facts in [
        ("approval", approval_facts),
        ("formal_communication", formal_facts),
        ("bidding", bidding_facts),
        ("result", {}),
    ]:
        current = apply_transition(current, advance(current, target, facts, model, "rep-1", NOW))
    with pytest.raises(GateRejected) as info:
        win(current, {"award_notice": won_facts["award_notice"]}, model, "rep-1", NOW)
    assert gate_violation(info.value).missing_facts == ("bid_opening_documents",)
    transition = win(current, won_facts, model, "rep-1", NOW)
    assert (transition.kind, transition.to_stage) == (TransitionKind.WON, "won")


def test_cannot_win_straight_from_bidding(model: StageModel, won_facts: dict[str, FactValue]) -> None:
    with pytest.raises(GateRejected) as info:
        win(state("bidding"), won_facts, model, "rep-1", NOW)
    assert info.value.unskippable_stages == ("result",)


def test_gate_violation_records_who_when_what(model: StageModel) -> None:
    with pytest.raises(GateRejected) as info:
        advance(state(), "approval", {"budget": Money(Decimal("-5"), "CNY")}, model, "rep-7", NOW)
    violation = gate_violation(info.value)
    assert (violation.opportunity_id, violation.actor, violation.at) == ("opp-1", "rep-7", NOW)
    assert (violation.from_stage, violation.target_stage) == ("opportunity", "approval")
    assert "our_expected_amount" in violation.missing_facts and "budget" not in violation.missing_facts
    assert violation.invalid_facts == (("budget", "budget.amount: must not be negative"),)


@pytest.mark.parametrize("target", ["lead", "opportunity"])
def test_advance_must_move_forward(model: StageModel, target: str) -> None:
    with pytest.raises(FailedPrecondition) as info:
        advance(state(), target, {}, model, "rep-1", NOW)
    assert info.value.field == "target_stage" and not isinstance(info.value, GateRejected)


def test_advance_to_lost_is_refused_in_favour_of_lose(model: StageModel) -> None:
    with pytest.raises(ValidationFailed) as info:
        advance(state(), "lost", {}, model, "rep-1", NOW)
    assert info.value.field == "target_stage"


def test_unknown_target_stage(model: StageModel) -> None:
    with pytest.raises(NotFound) as info:
        advance(state(), "signed", {}, model, "rep-1", NOW)
    assert info.value.field == "target_stage"


def test_naive_now_and_blank_actor_are_rejected(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    with pytest.raises(ValidationFailed) as info:
        advance(state(), "approval", approval_facts, model, "rep-1", datetime(2024, 6, 1))
    assert info.value.field == "now"
    with pytest.raises(ValidationFailed) as info:
        advance(state(), "approval", approval_facts, model, "  ", NOW)
    assert info.value.field == "actor"


def test_lose_needs_a_reason_and_works_from_any_open_stage(model: StageModel) -> None:
    with pytest.raises(ValidationFailed) as info:
        lose(state("bidding"), "  ", model, "rep-1", NOW)
    assert info.value.field == "reason"
    transition = lose(state("bidding"), "price too high", model, "rep-1", NOW)
    assert (transition.kind, transition.to_stage, transition.reason) == (TransitionKind.LOST, "lost", "price too high")


@pytest.mark.parametrize("closed", ["won", "lost"])
def test_closed_opportunities_cannot_change(
    model: StageModel, closed: str, approval_facts: dict[str, FactValue]
) -> None:
    closed_state = state(closed)
    with pytest.raises(FailedPrecondition):
        advance(closed_state, "approval", approval_facts, model, "rep-1", NOW)
    with pytest.raises(FailedPrecondition):
        lose(closed_state, "changed mind", model, "rep-1", NOW)
    with pytest.raises(FailedPrecondition):
        regress(closed_state, "opportunity", "reopen", model, "rep-1", NOW)
    with pytest.raises(FailedPrecondition):
        update_facts(closed_state, {"budget": Money(Decimal("1"), "CNY")}, model)
    with pytest.raises(FailedPrecondition) as info:
        ensure_open(closed_state, model)
    assert info.value.field == "stage"


def test_regress_to_an_earlier_stage_with_reason(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    transition = regress(
        state("formal_communication", approval_facts), "approval", "customer re-scoped", model, "mgr-1", NOW
    )
    assert (transition.kind, transition.to_stage, transition.reason) == (
        TransitionKind.REGRESS,
        "approval",
        "customer re-scoped",
    )
    assert dict(transition.facts) == approval_facts


@pytest.mark.parametrize("target", ["formal_communication", "bidding", "won", "lost"])
def test_regress_only_goes_back_to_open_stages(model: StageModel, target: str) -> None:
    with pytest.raises(FailedPrecondition) as info:
        regress(state("formal_communication"), target, "why", model, "rep-1", NOW)
    assert info.value.field == "target_stage"


def test_regress_requires_reason(model: StageModel) -> None:
    with pytest.raises(ValidationFailed) as info:
        regress(state("approval"), "opportunity", "", model, "rep-1", NOW)
    assert info.value.field == "reason"


def test_update_facts_validates_each_value_naming_the_fact(model: StageModel) -> None:
    merged = update_facts(
        state(facts={"budget": Money(Decimal("1"), "CNY")}), {"expected_bid_date": date(2024, 9, 1)}, model
    )
    assert set(merged) == {"budget", "expected_bid_date"}
    with pytest.raises(ValidationFailed) as info:
        update_facts(state(), {"expected_bid_date": "2024-09-01", "design_organisations": ()}, model)
    assert [f for f, _ in info.value.violations] == ["facts.expected_bid_date", "facts.design_organisations"]


def test_apply_transition_refuses_a_stale_state(model: StageModel, approval_facts: dict[str, FactValue]) -> None:
    transition = advance(state(), "approval", approval_facts, model, "rep-1", NOW)
    with pytest.raises(Conflict):
        apply_transition(state("approval"), transition)


def test_custom_model_gates_use_its_own_facts() -> None:
    custom = StageModel(
        "retail",
        "Retail",
        (
            Stage("qualify", "Qualify", 20, sla_days=7),
            Stage("won", "Won", 100, outcome=Outcome.WON),
            Stage("lost", "Lost", 0, outcome=Outcome.LOST),
        ),
        entry_stage_code="qualify",
    )
    assert win(OpportunityState("o", "qualify", ENTERED), {}, custom, "rep", NOW).to_stage == "won"
