"""Event payloads, each built from its domain object in this one place (a new field of an
event touches this module and the aggregate's store only)."""

from __future__ import annotations

from salesgrid.events.v1.pipeline_events_pb2 import (
    PipelineDiscountApprovalStep,
    PipelineDiscountPolicySet,
    PipelineLeadState,
    PipelineOpportunityState,
    PipelineQuoteState,
)
from salesgrid_common.approval import ApprovalStep
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_pipeline.domain.discounts import DiscountPolicy
from salesgrid_pipeline.domain.leads import Lead
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.domain.quotes import Quote
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


def quote_state(quote: Quote, customer_id: str, superseded_id: str = "") -> PipelineQuoteState:
    """`quote.*` events: the version as it is now (and the one it superseded)."""
    return PipelineQuoteState(
        quote_id=quote.quote_id,
        opportunity_id=quote.opportunity_id,
        version=quote.version,
        currency=quote.currency,
        total=str(quote.pricing.total),
        status=quote.status.value,
        owner_id=quote.owner_id,
        superseded_quote_id=superseded_id,
        product_ids=[line.product_id for line in quote.lines],
        customer_id=customer_id,
        contract_id=quote.contract_id,
        discount_rate=str(quote.discount_rate),
        discount_approval=quote.discount_approval,
    )


def discount_step(quote: Quote, step: ApprovalStep) -> PipelineDiscountApprovalStep:
    """`discount_approval.step_*` events: one step of a quote's special-discount approval."""
    return PipelineDiscountApprovalStep(
        quote_id=quote.quote_id,
        opportunity_id=quote.opportunity_id,
        quote_version=quote.version,
        step_order=step.order,
        role=step.role,
        approver_id=step.approver_id,
        status=step.status.value,
        comment=step.comment or "",
        owner_id=quote.owner_id,
        discount_rate=str(quote.discount_rate),
        submitted_by=quote.created_by,
    )


def discount_policy_set(policy: DiscountPolicy) -> PipelineDiscountPolicySet:
    """`discount_policy.set`: a unit's own special-discount thresholds."""
    return PipelineDiscountPolicySet(
        org_unit_id=policy.org_unit_id,
        threshold_percent=str(policy.threshold_percent),
        director_above_percent=str(policy.director_above_percent),
    )


def lead_state(lead: Lead, previous_owner: str = "") -> PipelineLeadState:
    """`lead.*` events: the lead as it is now (and whom an assignment or reclaim took it from)."""
    return PipelineLeadState(
        lead_id=lead.lead_id,
        company_name=lead.company_name,
        status=lead.status.value,
        owner_id=lead.owner_id or "",
        previous_owner_id=previous_owner,
        org_path=lead.org_path,
        region=lead.region,
        industry=lead.industry,
        closed_reason=lead.closed_reason or "",
        custom_fields=struct_of(lead.custom_fields),
    )


def lead_converted(lead: Lead, customer_id: str, opportunity_id: str) -> PipelineLeadState:
    """`lead.converted`: the customer and the opportunity the lead became."""
    return PipelineLeadState(
        lead_id=lead.lead_id,
        company_name=lead.company_name,
        status=lead.status.value,
        owner_id=lead.owner_id or "",
        org_path=lead.org_path,
        region=lead.region,
        industry=lead.industry,
        customer_id=customer_id,
        opportunity_id=opportunity_id,
    )
