"""Pipeline events as facts: opportunities created, moved, won and lost (with their stage model),
stage models published, gate violations and SLA notices."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import (
    PipelineGateViolated,
    PipelineOpportunityState,
    PipelineSlaNotice,
    PipelineStageModelState,
)
from salesgrid_analytics import stage_models
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.stages import DEFAULT_MODEL, Stage, StageModel
from salesgrid_analytics.fact_events import common, when
from salesgrid_analytics.fact_handlers import FactHandlers, Lookups
from salesgrid_common.events.consumer import Subscription


def _model_of(opp: PipelineOpportunityState) -> dict[str, object]:
    """The stage model an opportunity follows and its stage's probability, as pipeline sent them."""
    return {"stage_model": opp.stage_model or DEFAULT_MODEL, "probability": opp.probability}


def pipeline_subscription() -> Subscription:
    sub = Subscription(name="analytics-pipeline-facts", producer="pipeline")
    facts = FactHandlers(sub)  # every handler but the stage model's: a run of them is one insert

    @facts.on("salesgrid.pipeline.opportunity.created", PipelineOpportunityState)
    async def created(lookups: Lookups, envelope: Envelope, opp: PipelineOpportunityState) -> f.Fact:
        # Without an expected close date the deal counts on the day it was created, on the owner's
        # branch calendar (not the UTC date of the event).
        close = (
            date.fromisoformat(opp.expected_close_date)
            if opp.expected_close_date
            else (await lookups.calendar(opp.owner_id)).date_of(when(envelope))
        )
        return f.OpportunityCreated(
            **common(envelope, opp.owner_id, opp.org_path),
            opportunity_id=opp.opportunity_id,
            stage=opp.stage,
            amount=opp.amount or "0",
            currency=opp.currency,
            expected_close=close,
            **_model_of(opp),
            channel=opp.channel or "direct",
            partner_id=opp.partner_id,
        )

    @facts.on("salesgrid.pipeline.opportunity.stage_changed", PipelineOpportunityState)
    async def stage_changed(_: Lookups, envelope: Envelope, opp: PipelineOpportunityState) -> f.Fact:
        return f.StageChanged(
            **common(envelope, opp.owner_id, opp.org_path),
            opportunity_id=opp.opportunity_id,
            from_stage=opp.from_stage,
            to_stage=opp.stage,
            **_model_of(opp),
        )

    @facts.on("salesgrid.pipeline.opportunity.won", PipelineOpportunityState)
    async def won(_: Lookups, envelope: Envelope, opp: PipelineOpportunityState) -> f.Fact:
        return f.OpportunityWon(**common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id)

    @facts.on("salesgrid.pipeline.opportunity.lost", PipelineOpportunityState)
    async def lost(_: Lookups, envelope: Envelope, opp: PipelineOpportunityState) -> f.Fact:
        return f.OpportunityLost(
            **common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id, reason=opp.reason
        )

    @sub.on("salesgrid.pipeline.stage_model.published", PipelineStageModelState)
    async def stage_model_published(session: AsyncSession, envelope: Envelope, model: PipelineStageModelState) -> None:
        await stage_models.keep(
            session,
            StageModel(
                code=model.code,
                version=model.version,
                name=model.name,
                stages=tuple(
                    Stage(code=s.code, probability=s.probability, outcome=s.outcome, name=s.name) for s in model.stages
                ),
            ),
            when(envelope),
        )

    @facts.on("salesgrid.pipeline.gate.violated", PipelineGateViolated)
    async def gate_violated(_: Lookups, envelope: Envelope, violation: PipelineGateViolated) -> f.Fact:
        return f.GateViolated(
            **common(envelope, violation.owner_id or violation.actor_id, ""),
            opportunity_id=violation.opportunity_id,
            stage=violation.target_stage,
        )

    @facts.on("salesgrid.pipeline.sla.overdue", PipelineSlaNotice)
    async def sla_overdue(_: Lookups, envelope: Envelope, notice: PipelineSlaNotice) -> f.Fact:
        return f.SlaOverdue(
            **common(envelope, notice.owner_id, ""), opportunity_id=notice.opportunity_id, stage=notice.stage
        )

    return sub
