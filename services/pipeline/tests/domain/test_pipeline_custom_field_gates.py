"""Stage gates requiring opportunity custom fields (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from salesgrid_pipeline.domain.errors import ValidationFailed
from salesgrid_pipeline.domain.gate_facts import FactSpec, FactType
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel, validate_stage_model
from salesgrid_pipeline.domain.stages import GateRejected, OpportunityState, advance, apply_transition, gate_violation

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def model(*custom: str) -> StageModel:
    return StageModel(
        code="services",
        name="Services",
        entry_stage_code="qualify",
        stages=(
            Stage("qualify", "Qualify", 10, sla_days=7),
            Stage("demo", "Demo", 30, sla_days=7, skippable=True, required_custom_fields=("demo_date",)),
            Stage(
                "proposal",
                "Proposal",
                70,
                sla_days=7,
                required_facts=(FactSpec("po", "PO", FactType.TEXT),),
                required_custom_fields=custom,
            ),
            Stage("won", "Won", 100, outcome=Outcome.WON),
            Stage("lost", "Lost", 0, outcome=Outcome.LOST),
        ),
    )


def state(**values: object) -> OpportunityState:
    return OpportunityState("opp-1", "qualify", NOW - timedelta(days=1), {}, values)


def test_gates_are_cumulative_over_custom_fields_and_facts() -> None:
    services = model("tender_no", "segment")
    with pytest.raises(GateRejected) as refused:
        advance(state(segment="smb"), "proposal", {}, services, "rep-1", NOW)
    assert refused.value.violations == [
        ("facts.po", "PO is required"),
        ("custom_fields.demo_date", "is required to enter this stage (custom field)"),
        ("custom_fields.tender_no", "is required to enter this stage (custom field)"),
    ]
    record = gate_violation(refused.value)
    assert record.missing_facts == ("po", "custom_fields.demo_date", "custom_fields.tender_no")
    for empty in ("", []):  # an empty value is no value
        with pytest.raises(GateRejected):
            advance(
                state(segment="smb", demo_date="2026-03-01", tender_no=empty),
                "proposal",
                {"po": "1"},
                services,
                "rep-1",
                NOW,
            )
    full = state(segment="smb", demo_date="2026-03-01", tender_no="T-1")
    moved = advance(full, "proposal", {"po": "1"}, services, "rep-1", NOW)
    assert apply_transition(full, moved).custom_fields == full.custom_fields


def test_an_archived_field_no_longer_gates() -> None:
    archived = OpportunityState("opp-1", "qualify", NOW, {}, {"demo_date": "2026-03-01"}, frozenset({"tender_no"}))
    assert advance(archived, "proposal", {"po": "1"}, model("tender_no"), "rep-1", NOW).to_stage == "proposal"


def test_stage_models_name_custom_fields_by_key() -> None:
    with pytest.raises(ValidationFailed) as bad:
        validate_stage_model(model("Tender No"))
    assert ("stages[2].required_custom_fields", "must be distinct custom field keys") in bad.value.violations
    with pytest.raises(ValidationFailed):
        validate_stage_model(model("x", "x"))
    assert validate_stage_model(model("tender_no")).stages[2].required_custom_fields == ("tender_no",)
