"""Stage models to and from JSON (the codec of the stored rows and of the events that publish them; one row per business line)."""

from __future__ import annotations

from typing import Any

from salesgrid_pipeline.domain.gate_facts import FactSpec, FactType, VisitKind
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel


def encode_model(model: StageModel) -> dict[str, Any]:
    return {
        "code": model.code,
        "name": model.name,
        "entry_stage": model.entry_stage_code,
        "stages": [
            {
                "code": s.code,
                "name": s.name,
                "probability": s.probability,
                "sla_days": s.sla_days,
                "skippable": s.skippable,
                "outcome": s.outcome.value if s.outcome else "",
                "required_facts": [
                    {
                        "code": f.code,
                        "name": f.name,
                        "type": f.type.value,
                        "min_count": f.min_count,
                        "visit_kinds": sorted(k.value for k in f.visit_kinds),
                    }
                    for f in s.required_facts
                ],
                "required_custom_fields": list(s.required_custom_fields),
            }
            for s in model.stages
        ],
    }


def decode_model(raw: dict[str, Any]) -> StageModel:
    return StageModel(
        code=raw["code"],
        name=raw["name"],
        entry_stage_code=raw["entry_stage"],
        stages=tuple(
            Stage(
                s["code"],
                s["name"],
                s["probability"],
                sla_days=s["sla_days"],
                skippable=s["skippable"],
                outcome=Outcome(s["outcome"]) if s["outcome"] else None,
                required_facts=tuple(
                    FactSpec(
                        f["code"],
                        f["name"],
                        FactType(f["type"]),
                        min_count=f["min_count"],
                        visit_kinds=frozenset(VisitKind(k) for k in f["visit_kinds"]),
                    )
                    for f in s["required_facts"]
                ),
                required_custom_fields=tuple(s.get("required_custom_fields", ())),
            )
            for s in raw["stages"]
        ),
    )
