from dataclasses import replace

import pytest

from salesgrid_pipeline.domain.errors import NotFound, ValidationFailed
from salesgrid_pipeline.domain.gate_facts import FactSpec, FactType
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel, model_problems, validate_stage_model


def test_default_model_follows_the_source_documents(model: StageModel) -> None:
    assert [s.code for s in model] == [
        "lead",
        "opportunity",
        "approval",
        "formal_communication",
        "bidding",
        "result",
        "won",
        "lost",
    ]
    # time allowed IN each stage: 线索到商机1个月, 商机到立项2周, 立项到正式沟通1个月, 正式沟通到投标1个月, 投标到结果2个月
    assert [s.sla_days for s in model.open_stages[:5]] == [30, 14, 30, 30, 60]
    assert [s.probability for s in model] == [5, 10, 25, 40, 60, 80, 100, 0]
    assert not any(s.skippable for s in model)
    assert model.won_stage.code == "won" and model.lost_stage.code == "lost"
    assert model.entry_stage_code == "opportunity"


def test_default_gates(model: StageModel) -> None:
    def codes(stage: str) -> set[str]:
        return {f.code for f in model.stage(stage).required_facts}

    assert codes("approval") == {
        "budget",
        "our_expected_amount",
        "latest_expected_bid_date",
        "design_organisations",
        "decision_organisations",
        "user_organisations",
        "decision_chain_visits",
    }
    assert codes("formal_communication") == {"expected_bid_date", "expected_winning_amount"}
    assert codes("bidding") == {"tender_document", "bid_document", "publication_date", "response_date"}
    assert codes("won") == {"award_notice", "bid_opening_documents"}
    visits = model.fact_spec("decision_chain_visits")
    assert (
        visits is not None and visits.min_count >= 1 and {k.value for k in visits.visit_kinds} == {"visit", "meeting"}
    )


def test_unknown_stage_is_not_found(model: StageModel) -> None:
    with pytest.raises(NotFound) as info:
        model.stage("nope", "target_stage")
    assert info.value.field == "target_stage"


def _fields(model: StageModel) -> list[str]:
    return [f for f, _ in model_problems(model)]


def _with_stage(model: StageModel, index: int, **changes: object) -> StageModel:
    stages = list(model.stages)
    stages[index] = replace(stages[index], **changes)
    return replace(model, stages=tuple(stages))


def test_duplicate_codes_rejected(model: StageModel) -> None:
    assert "stages[2].code" in _fields(_with_stage(model, 2, code="opportunity"))


@pytest.mark.parametrize("probability", [-1, 101, 50.5])
def test_probability_range(model: StageModel, probability: object) -> None:
    assert "stages[1].probability" in _fields(_with_stage(model, 1, probability=probability))


def test_probabilities_must_not_decrease_towards_won(model: StageModel) -> None:
    problems = model_problems(_with_stage(model, 3, probability=20))  # approval is 25
    assert any("decreases" in m for _, m in problems)


def test_won_must_be_100_and_lost_0(model: StageModel) -> None:
    assert any("won stage" in m for _, m in model_problems(_with_stage(model, 6, probability=90)))
    assert any("lost stage" in m for _, m in model_problems(_with_stage(model, 7, probability=5)))


@pytest.mark.parametrize("sla", [0, -3, None, True])
def test_open_stages_need_positive_sla(model: StageModel, sla: object) -> None:
    assert "stages[4].sla_days" in _fields(_with_stage(model, 4, sla_days=sla))


def test_terminal_stages_have_no_sla(model: StageModel) -> None:
    assert "stages[6].sla_days" in _fields(_with_stage(model, 6, sla_days=10))


def test_exactly_one_won_and_one_lost(model: StageModel) -> None:
    two_won = _with_stage(model, 7, outcome=Outcome.WON, probability=100)
    assert any("exactly one won" in m for _, m in model_problems(two_won))
    assert any("exactly one lost" in m for _, m in model_problems(two_won))


def test_terminals_come_last(model: StageModel) -> None:
    stages = list(model.stages)
    stages.insert(0, stages.pop(7))  # lost first
    assert any("after every open stage" in m for _, m in model_problems(replace(model, stages=tuple(stages))))


def test_fact_definitions_are_checked_and_unique_model_wide(model: StageModel) -> None:
    bad_fact = _with_stage(model, 3, required_facts=(FactSpec("budget", "Budget again", FactType.AMOUNT),))
    assert "stages[3].required_facts[0].code" in _fields(bad_fact)
    ill_typed = _with_stage(model, 5, required_facts=(FactSpec("x", "X", "blob"),))  # type: ignore[arg-type]
    assert "stages[5].required_facts[0].type" in _fields(ill_typed)


def test_entry_stage_must_be_open(model: StageModel) -> None:
    assert "entry_stage_code" in _fields(replace(model, entry_stage_code="won"))


def test_validate_raises_with_every_violation(model: StageModel) -> None:
    broken = replace(_with_stage(model, 1, sla_days=0, probability=200), code="")
    with pytest.raises(ValidationFailed) as info:
        validate_stage_model(broken)
    assert {"code", "stages[1].sla_days", "stages[1].probability"} <= {f for f, _ in info.value.violations}


def test_a_minimal_custom_model_is_valid() -> None:
    custom = StageModel(
        "retail",
        "Retail",
        (
            Stage("qualify", "Qualify", 20, sla_days=7),
            Stage("demo", "Demo", 50, sla_days=7, skippable=True),
            Stage("won", "Won", 100, outcome=Outcome.WON),
            Stage("lost", "Lost", 0, outcome=Outcome.LOST),
        ),
        entry_stage_code="qualify",
    )
    assert validate_stage_model(custom) is custom
