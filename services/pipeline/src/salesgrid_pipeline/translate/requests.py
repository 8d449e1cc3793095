"""Request messages -> domain values (decimal strings, dates, typed gate facts, stage models)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.errors import ValidationFailed
from salesgrid_pipeline.domain.gate_facts import DocumentRef, FactSpec, FactType, FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Competitor, OpportunityInput, OpportunityProduct
from salesgrid_pipeline.domain.quotes import Discount, DiscountKind
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel
from salesgrid_pipeline.usecases import QuoteLineRequest


def decimal_of(text: str, field: str, default: Decimal | None = None) -> Decimal:
    if not text.strip() and default is not None:
        return default
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not a decimal number", field) from None
    if not value.is_finite():
        raise ValidationFailed("must be a finite number", field)
    return value


def money_of(message: pb.PipelineMoney, field: str) -> Money:
    return Money(decimal_of(message.amount, f"{field}.amount"), message.currency.strip())


def date_of(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("must be a date YYYY-MM-DD", field) from None


def gate_facts_of(facts: Iterable[pb.Fact]) -> dict[str, FactValue]:
    values: dict[str, FactValue] = {}
    for i, fact in enumerate(facts):
        field = f"facts.{fact.code or i}"
        kind = fact.WhichOneof("value")
        if not fact.code or kind is None:
            raise ValidationFailed("needs a code and a value", field)
        if kind == "amount":
            values[fact.code] = money_of(fact.amount, field)
        elif kind == "date":
            values[fact.code] = date_of(fact.date, field)
        elif kind == "text":
            values[fact.code] = fact.text
        elif kind == "organisations":
            values[fact.code] = tuple(fact.organisations.names)
        elif kind == "document":
            values[fact.code] = DocumentRef(fact.document.document_id, fact.document.file_name)
        else:
            try:
                values[fact.code] = tuple(VisitRef(v.activity_id, VisitKind(v.kind)) for v in fact.visits.visits)
            except ValueError:
                raise ValidationFailed(f"visit kinds are {[k.value for k in VisitKind]}", field) from None
    return values


def opportunity_input(request: pb.CreateOpportunityRequest) -> OpportunityInput:
    return OpportunityInput(
        customer_id=request.customer_id,
        name=request.name,
        amount=money_of(request.amount, "amount"),
        expected_close_date=date_of(request.expected_close_date, "expected_close_date"),
        competitors=tuple(
            Competitor(
                c.name, c.strengths, money_of(c.price, f"competitors[{i}].price") if c.HasField("price") else None
            )
            for i, c in enumerate(request.competitors)
        ),
        products=tuple(
            OpportunityProduct(p.product_id, decimal_of(p.quantity, f"products[{i}].quantity", Decimal(1)))
            for i, p in enumerate(request.products)
        ),
    )


def quote_lines(lines: Iterable[pb.QuoteLineInput]) -> list[QuoteLineRequest]:
    parsed = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        discount = None
        if line.discount_kind:
            try:
                kind = DiscountKind(line.discount_kind)
            except ValueError:
                raise ValidationFailed("must be percent or amount", f"{where}.discount_kind") from None
            discount = Discount(kind, decimal_of(line.discount_value, f"{where}.discount_value"))
        if not line.product_id.strip():
            raise ValidationFailed("is required", f"{where}.product_id")
        parsed.append(
            QuoteLineRequest(line.product_id, decimal_of(line.quantity, f"{where}.quantity", Decimal(1)), discount)
        )
    return parsed


def enum_of(kind: type, value: str, field: str):  # type: ignore[no-untyped-def]
    try:
        return kind(value)
    except ValueError:
        raise ValidationFailed(f"must be one of {[k.value for k in kind]}", field) from None


def stage_model_of(message: pb.StageModel) -> StageModel:
    """Proto → domain; the domain's validate_stage_model then checks the model as a whole."""
    stages = []
    for i, stage in enumerate(message.stages):
        where = f"stages[{i}]"
        facts = tuple(
            FactSpec(
                f.code,
                f.name,
                enum_of(FactType, f.type, f"{where}.required_facts[{j}].type"),
                min_count=f.min_count or 1,
                visit_kinds=frozenset(
                    enum_of(VisitKind, k, f"{where}.required_facts[{j}].visit_kinds") for k in f.visit_kinds
                ),
            )
            for j, f in enumerate(stage.required_facts)
        )
        stages.append(
            Stage(
                stage.code,
                stage.name,
                stage.probability,
                sla_days=stage.sla_days or None,
                required_facts=facts,
                skippable=stage.skippable,
                required_custom_fields=tuple(stage.required_custom_fields),
                outcome=enum_of(Outcome, stage.outcome, f"{where}.outcome") if stage.outcome else None,
            )
        )
    return StageModel(
        code=message.code.strip(), name=message.name, stages=tuple(stages), entry_stage_code=message.entry_stage
    )
