"""Event consumers: each event of another service becomes (at most) one stored fact.

Only payloads that exist in proto/salesgrid/events/v1 are consumed; the inbox of the common
consumer plus the event-id key of `facts` make redeliveries and replays insert nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import (
    ActivitiesDailyReportState,
    ActivitiesFollowUpLogged,
    ActivitiesVisitReading,
)
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.expenses_events_pb2 import ExpensesClaimState
from salesgrid.events.v1.identity_events_pb2 import UserState
from salesgrid.events.v1.pipeline_events_pb2 import (
    PipelineGateViolated,
    PipelineOpportunityState,
    PipelineSlaNotice,
    PipelineStageModelState,
)
from salesgrid_analytics import factstore, stage_models
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.expenses import ExpensePaid
from salesgrid_analytics.domain.stages import DEFAULT_MODEL, Stage, StageModel
from salesgrid_analytics.merges import customer_merges_subscription
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.events.consumer import Handler, Subscription
from salesgrid_common.localtime import user_calendar
from salesgrid_common.protos import from_timestamp
from salesgrid_common.service import ServiceContext


def _when(envelope: Envelope) -> datetime:
    return from_timestamp(envelope.occurred_at)


def _common(envelope: Envelope, owner_id: str, org_path: str) -> dict[str, object]:
    return {
        "event_id": envelope.event_id,
        "occurred_at": _when(envelope),
        "owner_id": owner_id,
        "org_path": org_path or envelope.org_path or "/",
    }


def identity_subscription() -> Subscription:
    sub = Subscription(name="analytics-identity-facts", producer="identity")

    @sub.on("salesgrid.identity.user.created", UserState)
    async def user_created(session: AsyncSession, envelope: Envelope, user: UserState) -> None:
        await factstore.store(
            session,
            factstore.USER_CREATED,
            envelope.event_id,
            _when(envelope),
            user.user_id,
            user.org_path or "/",
            {"unit_id": user.unit_id},
        )

    return sub


def customers_subscription() -> Subscription:
    sub = Subscription(name="analytics-customers-facts", producer="customers")

    @sub.on("salesgrid.customers.customer.created", CustomerRecordState)
    async def customer_created(session: AsyncSession, envelope: Envelope, customer: CustomerRecordState) -> None:
        owner = customer.owner_id or envelope.actor_id
        if not owner:  # created straight into the public pool: nobody's new customer
            return
        await factstore.store_fact(
            session, f.CustomerCreated(**_common(envelope, owner, customer.org_path), customer_id=customer.customer_id)
        )

    return sub


def _model_of(opp: PipelineOpportunityState) -> dict[str, object]:
    """The stage model an opportunity follows and its stage's probability, as pipeline sent them."""
    return {"stage_model": opp.stage_model or DEFAULT_MODEL, "probability": opp.probability}


def pipeline_subscription() -> Subscription:
    sub = Subscription(name="analytics-pipeline-facts", producer="pipeline")

    @sub.on("salesgrid.pipeline.opportunity.created", PipelineOpportunityState)
    async def created(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        # Without an expected close date the deal counts on the day it was created, on the owner's
        # branch calendar (not the UTC date of the event).
        close = (
            date.fromisoformat(opp.expected_close_date)
            if opp.expected_close_date
            else (await user_calendar(session, opp.owner_id)).date_of(_when(envelope))
        )
        await factstore.store_fact(
            session,
            f.OpportunityCreated(
                **_common(envelope, opp.owner_id, opp.org_path),
                opportunity_id=opp.opportunity_id,
                stage=opp.stage,
                amount=opp.amount or "0",
                currency=opp.currency,
                expected_close=close,
                **_model_of(opp),
                channel=opp.channel or "direct",
                partner_id=opp.partner_id,
            ),
        )

    @sub.on("salesgrid.pipeline.opportunity.stage_changed", PipelineOpportunityState)
    async def stage_changed(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(
            session,
            f.StageChanged(
                **_common(envelope, opp.owner_id, opp.org_path),
                opportunity_id=opp.opportunity_id,
                from_stage=opp.from_stage,
                to_stage=opp.stage,
                **_model_of(opp),
            ),
        )

    @sub.on("salesgrid.pipeline.opportunity.won", PipelineOpportunityState)
    async def won(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(
            session,
            f.OpportunityWon(**_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id),
        )

    @sub.on("salesgrid.pipeline.opportunity.lost", PipelineOpportunityState)
    async def lost(session: AsyncSession, envelope: Envelope, opp: PipelineOpportunityState) -> None:
        await factstore.store_fact(
            session,
            f.OpportunityLost(
                **_common(envelope, opp.owner_id, opp.org_path), opportunity_id=opp.opportunity_id, reason=opp.reason
            ),
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
            _when(envelope),
        )

    @sub.on("salesgrid.pipeline.gate.violated", PipelineGateViolated)
    async def gate_violated(session: AsyncSession, envelope: Envelope, violation: PipelineGateViolated) -> None:
        await factstore.store_fact(
            session,
            f.GateViolated(
                **_common(envelope, violation.owner_id or violation.actor_id, ""),
                opportunity_id=violation.opportunity_id,
                stage=violation.target_stage,
            ),
        )

    @sub.on("salesgrid.pipeline.sla.overdue", PipelineSlaNotice)
    async def sla_overdue(session: AsyncSession, envelope: Envelope, notice: PipelineSlaNotice) -> None:
        await factstore.store_fact(
            session,
            f.SlaOverdue(
                **_common(envelope, notice.owner_id, ""), opportunity_id=notice.opportunity_id, stage=notice.stage
            ),
        )

    return sub


def _report_day(fact_class: type[f.DailyReportMissing | f.DailyReportFalsified]) -> Handler:
    """A handler storing a daily-report fact that carries only the day it is about."""

    async def handle(session: AsyncSession, envelope: Envelope, report: ActivitiesDailyReportState) -> None:
        await factstore.store_fact(
            session,
            fact_class(
                **_common(envelope, report.owner_id, report.org_path),
                report_date=date.fromisoformat(report.report_date),
            ),
        )

    return handle


def activities_subscription() -> Subscription:
    """Follow-ups, visits and daily reports. `check_in.flagged` and `daily_report.late` repeat a
    check-in or submission already counted (its flags / status say it), so they are not consumed."""
    sub = Subscription(name="analytics-activities-facts", producer="activities")

    @sub.on("salesgrid.activities.follow_up.logged", ActivitiesFollowUpLogged)
    async def follow_up(session: AsyncSession, envelope: Envelope, logged: ActivitiesFollowUpLogged) -> None:
        fact = f.FollowUpLogged(
            **_common(envelope, logged.owner_id, logged.org_path),
            customer_id=await survivor_of(session, logged.customer_id),
        )
        await factstore.store_fact(session, fact)

    @sub.on("salesgrid.activities.check_in.recorded", ActivitiesVisitReading)
    async def check_in(session: AsyncSession, envelope: Envelope, visit: ActivitiesVisitReading) -> None:
        await factstore.store_fact(
            session,
            f.CheckInRecorded(
                **_common(envelope, visit.owner_id, visit.org_path),
                customer_id=await survivor_of(session, visit.customer_id),
                flagged=bool(visit.flags),
            ),
        )

    @sub.on("salesgrid.activities.daily_report.submitted", ActivitiesDailyReportState)
    async def submitted(session: AsyncSession, envelope: Envelope, report: ActivitiesDailyReportState) -> None:
        timing = f.ReportTiming.LATE if report.status == "late" else f.ReportTiming.ON_TIME
        await factstore.store_fact(
            session,
            f.DailyReportSubmitted(
                **_common(envelope, report.owner_id, report.org_path),
                report_date=date.fromisoformat(report.report_date),
                timing=timing,
            ),
        )

    for verb, fact_class in (("missing", f.DailyReportMissing), ("falsified", f.DailyReportFalsified)):
        sub.on(f"salesgrid.activities.daily_report.{verb}", ActivitiesDailyReportState)(_report_day(fact_class))

    return sub


def contracts_subscription() -> Subscription:
    sub = Subscription(name="analytics-contracts-facts", producer="contracts")

    @sub.on("salesgrid.contracts.contract.signed", ContractsContractState)
    async def signed(session: AsyncSession, envelope: Envelope, contract: ContractsContractState) -> None:
        await factstore.store_fact(
            session,
            f.ContractSigned(
                **_common(envelope, contract.owner_id, contract.org_path),
                contract_id=contract.contract_id,
                amount=contract.total,
                currency=contract.currency,
                channel=contract.channel or "direct",
                partner_id=contract.partner_id,
            ),
        )

    @sub.on("salesgrid.contracts.receipt.recorded", ContractsReceiptRecorded)
    async def receipt(session: AsyncSession, envelope: Envelope, paid: ContractsReceiptRecorded) -> None:
        # A receipt is credited to the contract's owner, which the event carries (with the
        # contract's org path in the envelope): no dependence on the signing arriving first.
        # Events from before that field: the signing fact, if it is here, else the actor.
        if paid.owner_id:
            owner, org_path = paid.owner_id, envelope.org_path
        else:
            contract = await factstore.find(session, "contract_signed", "contract_id", paid.contract_id)
            owner, org_path = (contract.owner_id, contract.org_path) if contract else (envelope.actor_id, "")
        await factstore.store_fact(
            session,
            f.ReceiptRecorded(
                **_common(envelope, owner, org_path),
                contract_id=paid.contract_id,
                amount=paid.amount,
                currency=paid.currency,
                channel=paid.channel or "direct",
                partner_id=paid.partner_id,
            ),
        )

    return sub


def expenses_subscription() -> Subscription:
    """Paid claims are the cost of sale; each line keeps the customer and opportunity it was spent on."""
    sub = Subscription(name="analytics-expenses-facts", producer="expenses")

    @sub.on("salesgrid.expenses.claim.paid", ExpensesClaimState)
    async def paid(session: AsyncSession, envelope: Envelope, claim: ExpensesClaimState) -> None:
        await factstore.store_fact(
            session,
            ExpensePaid(
                **_common(envelope, claim.owner_id, claim.org_path),
                claim_id=claim.claim_id,
                amount=claim.total,
                currency=claim.currency,
                lines=tuple(
                    [
                        {
                            "customer_id": await survivor_of(session, line.customer_id),
                            "opportunity_id": line.opportunity_id,
                            "amount": line.amount,
                        }
                        for line in claim.lines
                    ]
                ),
            ),
        )

    return sub


def all_subscriptions() -> list[Subscription]:
    return [
        identity_subscription(),
        customers_subscription(),
        pipeline_subscription(),
        activities_subscription(),
        contracts_subscription(),
        expenses_subscription(),
        customer_merges_subscription(),
    ]


def subscriptions(ctx: ServiceContext) -> Sequence[Subscription]:
    return all_subscriptions()
