"""Gate facts (the evidence a stage gate asks for) to and from JSON, the codec of the stored rows:
the stage model's fact type says how to read each back. (Not analytics' facts, which are projected
events.)"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from salesgrid_pipeline.domain.gate_facts import DocumentRef, FactType, FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.stage_model import StageModel


def encode_fact(value: FactValue) -> Any:
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, DocumentRef):
        return {"document_id": value.document_id, "file_name": value.file_name}
    if isinstance(value, tuple | list):
        return [{"activity_id": v.activity_id, "kind": v.kind.value} if isinstance(v, VisitRef) else v for v in value]
    return value


def decode_fact(kind: FactType, raw: Any) -> FactValue:
    match kind:
        case FactType.AMOUNT:
            return Money(Decimal(raw["amount"]), raw["currency"])
        case FactType.DATE:
            return date.fromisoformat(raw)
        case FactType.ORGANISATIONS:
            return tuple(raw)
        case FactType.DOCUMENT:
            return DocumentRef(raw["document_id"], raw.get("file_name", ""))
        case FactType.VISITS:
            return tuple(VisitRef(v["activity_id"], VisitKind(v["kind"])) for v in raw)
    return str(raw)


def encode_facts(facts: Mapping[str, FactValue]) -> dict[str, Any]:
    return {code: encode_fact(value) for code, value in facts.items()}


def decode_facts(raw: Mapping[str, Any], model: StageModel) -> dict[str, FactValue]:
    decoded = {}
    for code, value in raw.items():
        spec = model.fact_spec(code)
        if spec is not None:  # a fact the model no longer knows is ignored, not fatal
            decoded[code] = decode_fact(spec.type, value)
    return decoded
