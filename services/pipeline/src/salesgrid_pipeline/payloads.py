"""Event payloads, each built from its domain object in this one place (a new field of an
event touches this module and the aggregate's store only)."""

from __future__ import annotations

from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.domain.stages import StageTransition


def opportunity_state(
    opportunity: Opportunity, model: StageModel, model_version: int, transition: StageTransition | None = None
) -> PipelineOpportunityState:
    """`opportunity.*` events: the opportunity as it is now, with the move that got it there."""
    return PipelineOpportunityState(
        opportunity_id=opportunity.opportunity_id,
        customer_id=opportunity.customer_id,
        name=opportunity.name,
        owner_id=opportunity.owner_id,
        org_path=opportunity.org_path,
        amount=str(opportunity.amount.amount),
        currency=opportunity.amount.currency,
        expected_close_date=opportunity.expected_close_date.isoformat(),
        stage=opportunity.stage,
        status=opportunity.status,
        probability=model.stage(opportunity.stage).probability,
        from_stage=transition.from_stage if transition else "",
        transition=transition.kind.value if transition else "",
        reason=transition.reason or "" if transition else "",
        commit=opportunity.commit,
        stage_model=opportunity.stage_model,
        channel=opportunity.channel,
        partner_id=opportunity.partner_id,
        stage_model_version=model_version,
        custom_fields=struct_of(opportunity.custom_fields),
    )
