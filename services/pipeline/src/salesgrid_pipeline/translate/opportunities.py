"""Opportunities, their gate facts, stage history and gate violations -> proto."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain.gate_facts import DocumentRef, FactValue, VisitRef
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.gate_fact_codec import encode_fact
from salesgrid_pipeline.stores.opportunity_records import RecordedViolation, StageChange


def fact_pb(code: str, value: FactValue) -> pb.Fact:
    encoded = encode_fact(value)
    if isinstance(value, Money):
        return pb.Fact(code=code, amount=pb.PipelineMoney(**encoded))
    if isinstance(value, date):
        return pb.Fact(code=code, date=encoded)
    if isinstance(value, DocumentRef):
        return pb.Fact(code=code, document=pb.DocumentRef(**encoded))
    if isinstance(value, str):
        return pb.Fact(code=code, text=value)
    if value and isinstance(value[0], VisitRef):
        return pb.Fact(code=code, visits=pb.Visits(visits=[pb.VisitRef(**v) for v in encoded]))
    return pb.Fact(code=code, organisations=pb.Organisations(names=list(value)))


def facts_pb(facts: Mapping[str, FactValue]) -> list[pb.Fact]:
    return [fact_pb(code, value) for code, value in sorted(facts.items())]


def opportunity_pb(opportunity: Opportunity, model: StageModel) -> pb.Opportunity:
    """`model`: the opportunity's stage model (its stage's probability)."""
    return pb.Opportunity(
        id=opportunity.opportunity_id,
        customer_id=opportunity.customer_id,
        name=opportunity.name,
        owner_id=opportunity.owner_id,
        org_path=opportunity.org_path,
        amount=pb.PipelineMoney(amount=str(opportunity.amount.amount), currency=opportunity.amount.currency),
        expected_close_date=opportunity.expected_close_date.isoformat(),
        competitors=[
            pb.Competitor(
                name=c.name,
                strengths=c.strengths,
                price=pb.PipelineMoney(amount=str(c.price.amount), currency=c.price.currency) if c.price else None,
            )
            for c in opportunity.competitors
        ],
        products=[
            pb.OpportunityProduct(product_id=p.product_id, quantity=str(p.quantity)) for p in opportunity.products
        ],
        stage=opportunity.stage,
        stage_entered_at=to_timestamp(opportunity.stage_entered_at),
        status=opportunity.status,
        lost_reason=opportunity.lost_reason,
        facts=facts_pb(opportunity.facts),
        probability=model.stage(opportunity.stage).probability,
        stage_model=opportunity.stage_model,
        version=opportunity.version,
        created_at=to_timestamp(opportunity.created_at),
        commit=opportunity.commit,
        channel=opportunity.channel,
        partner_id=opportunity.partner_id,
        custom_fields=struct_of(opportunity.custom_fields),
    )


def stage_change_pb(change: StageChange) -> pb.StageChange:
    t = change.transition
    return pb.StageChange(
        id=change.change_id,
        opportunity_id=t.opportunity_id,
        kind=t.kind.value,
        from_stage=t.from_stage,
        to_stage=t.to_stage,
        at=to_timestamp(t.at),
        by=t.by,
        facts=facts_pb(t.facts),
        reason=t.reason or "",
        skipped_stages=list(t.skipped_stages),
    )


def violation_pb(recorded: RecordedViolation) -> pb.GateViolation:
    v = recorded.violation
    return pb.GateViolation(
        id=recorded.violation_id,
        opportunity_id=v.opportunity_id,
        actor_id=v.actor,
        owner_id=recorded.owner_id,
        org_path=recorded.org_path,
        at=to_timestamp(v.at),
        from_stage=v.from_stage,
        target_stage=v.target_stage,
        missing_facts=list(v.missing_facts),
        invalid_facts=[pb.InvalidFact(code=c, message=m) for c, m in v.invalid_facts],
        unskippable_stages=list(v.unskippable_stages),
    )
