"""Thin gRPC servicer: proto ↔ use case translation (decimal strings, dates, typed facts)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.auth import caller
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline import models
from salesgrid_pipeline.domain.facts import DocumentRef, FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.forecast import ForecastBucket
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Competitor, OpportunityInput, OpportunityProduct
from salesgrid_pipeline.domain.stage_model import StageModel
from salesgrid_pipeline.fact_store import decode_facts, encode_fact
from salesgrid_pipeline.usecases import PipelineUseCases

# --- proto → domain ----------------------------------------------------------------------------


def _decimal(text: str, field: str, default: Decimal | None = None) -> Decimal:
    if not text.strip() and default is not None:
        return default
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationFailed(f"{text!r} is not a decimal number", field) from None
    if not value.is_finite():
        raise ValidationFailed("must be a finite number", field)
    return value


def _money(message: pb.PipelineMoney, field: str) -> Money:
    return Money(_decimal(message.amount, f"{field}.amount"), message.currency.strip())


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("must be a date YYYY-MM-DD", field) from None


def _facts(facts: Iterable[pb.Fact]) -> dict[str, FactValue]:
    values: dict[str, FactValue] = {}
    for i, fact in enumerate(facts):
        field = f"facts.{fact.code or i}"
        kind = fact.WhichOneof("value")
        if not fact.code or kind is None:
            raise ValidationFailed("needs a code and a value", field)
        if kind == "amount":
            values[fact.code] = _money(fact.amount, field)
        elif kind == "date":
            values[fact.code] = _date(fact.date, field)
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


def _opportunity_input(request: pb.CreateOpportunityRequest) -> OpportunityInput:
    return OpportunityInput(
        customer_id=request.customer_id, name=request.name, amount=_money(request.amount, "amount"),
        expected_close_date=_date(request.expected_close_date, "expected_close_date"),
        competitors=tuple(Competitor(c.name, c.strengths, _money(c.price, f"competitors[{i}].price")
                                     if c.HasField("price") else None) for i, c in enumerate(request.competitors)),
        products=tuple(OpportunityProduct(p.product_id, _decimal(p.quantity, f"products[{i}].quantity", Decimal(1)))
                       for i, p in enumerate(request.products)))


# --- domain / rows → proto ---------------------------------------------------------------------


def _fact_pb(code: str, value: FactValue) -> pb.Fact:
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


def _facts_pb(facts: Mapping[str, FactValue]) -> list[pb.Fact]:
    return [_fact_pb(code, value) for code, value in sorted(facts.items())]


def opportunity_pb(row: models.Opportunity, uc: PipelineUseCases) -> pb.Opportunity:
    return pb.Opportunity(
        id=row.id, customer_id=row.customer_id, name=row.name, owner_id=row.owner_id, org_path=row.org_path,
        amount=pb.PipelineMoney(amount=row.amount, currency=row.currency),
        expected_close_date=row.expected_close_date.isoformat(),
        competitors=[pb.Competitor(name=c["name"], strengths=c["strengths"],
                                   price=pb.PipelineMoney(**c["price"]) if c.get("price") else None)
                     for c in row.competitors],
        products=[pb.OpportunityProduct(**p) for p in row.products], stage=row.stage,
        stage_entered_at=to_timestamp(row.stage_entered_at), status=row.status, lost_reason=row.lost_reason,
        facts=_facts_pb(uc.facts_of(row)), probability=uc.model.stage(row.stage).probability,
        stage_model=row.stage_model, version=row.version, created_at=to_timestamp(row.created_at))


def lead_pb(row: models.Lead) -> pb.Lead:
    amount = (pb.PipelineMoney(amount=row.estimated_amount, currency=row.estimated_currency or "")
              if row.estimated_amount else None)
    return pb.Lead(
        id=row.id, company_name=row.company_name, contact_name=row.contact_name, phone=row.phone, email=row.email,
        region=row.region, industry=row.industry, source=row.source, estimated_amount=amount, status=row.status,
        owner_id=row.owner_id, org_path=row.org_path, assigned_at=to_timestamp(row.assigned_at),
        last_followed_up_at=to_timestamp(row.last_followed_up_at), closed_reason=row.closed_reason,
        closed_at=to_timestamp(row.closed_at), created_at=to_timestamp(row.created_at), created_by=row.created_by, version=row.version)


def violation_pb(row: models.GateViolation) -> pb.GateViolation:
    return pb.GateViolation(
        id=row.id, opportunity_id=row.opportunity_id, actor_id=row.actor_id, owner_id=row.owner_id,
        org_path=row.org_path, at=to_timestamp(row.at), from_stage=row.from_stage, target_stage=row.target_stage,
        missing_facts=row.missing_facts, invalid_facts=[pb.InvalidFact(code=c, message=m) for c, m in row.invalid_facts],
        unskippable_stages=row.unskippable_stages)


def bucket_pb(bucket: ForecastBucket) -> pb.ForecastBucket:
    return pb.ForecastBucket(
        key=bucket.key, month=bucket.month, currency=bucket.currency, count=bucket.count, amount=str(bucket.amount),
        weighted_amount=str(bucket.weighted_amount), won_amount=str(bucket.won_amount),
        commit_amount=str(bucket.commit_amount), best_case_amount=str(bucket.best_case_amount),
        pipeline_amount=str(bucket.pipeline_amount))


def stage_model_pb(model: StageModel) -> pb.StageModel:
    return pb.StageModel(code=model.code, name=model.name, entry_stage=model.entry_stage_code, stages=[
        pb.Stage(code=s.code, name=s.name, probability=s.probability, sla_days=s.sla_days or 0,
                 skippable=s.skippable, outcome=s.outcome.value if s.outcome else "",
                 required_facts=[pb.FactSpec(code=f.code, name=f.name, type=f.type.value, min_count=f.min_count,
                                             visit_kinds=sorted(k.value for k in f.visit_kinds))
                                 for f in s.required_facts])
        for s in model.stages])


class PipelineServicer(pb_grpc.PipelineServicer):
    def __init__(self, usecases: PipelineUseCases) -> None:
        self.uc = usecases

    async def CreateOpportunity(self, request: pb.CreateOpportunityRequest, context: grpc.aio.ServicerContext) -> pb.Opportunity:
        row = await self.uc.create_opportunity(caller(), _opportunity_input(request), request.owner_id)
        return opportunity_pb(row, self.uc)

    async def GetOpportunity(self, request: pb.GetOpportunityRequest, context: grpc.aio.ServicerContext) -> pb.Opportunity:
        return opportunity_pb(await self.uc.get_opportunity(caller(), request.id), self.uc)

    async def ListOpportunities(self, request: pb.ListOpportunitiesRequest,
                                context: grpc.aio.ServicerContext) -> pb.ListOpportunitiesResponse:
        rows, next_token = await self.uc.list_opportunities(
            caller(), owner_id=request.owner_id, customer_id=request.customer_id, status=request.status,
            stage=request.stage, page_size=request.page_size, after=request.page_token)
        return pb.ListOpportunitiesResponse(opportunities=[opportunity_pb(r, self.uc) for r in rows],
                                            next_page_token=next_token)

    async def AdvanceOpportunity(self, request: pb.AdvanceOpportunityRequest,
                                 context: grpc.aio.ServicerContext) -> pb.Opportunity:
        row = await self.uc.advance_opportunity(caller(), request.id, request.target_stage, _facts(request.facts),
                                                request.expected_version)
        return opportunity_pb(row, self.uc)

    async def RegressOpportunity(self, request: pb.RegressOpportunityRequest,
                                 context: grpc.aio.ServicerContext) -> pb.Opportunity:
        row = await self.uc.regress_opportunity(caller(), request.id, request.target_stage, request.reason,
                                                request.expected_version)
        return opportunity_pb(row, self.uc)

    async def WinOpportunity(self, request: pb.WinOpportunityRequest, context: grpc.aio.ServicerContext) -> pb.Opportunity:
        row = await self.uc.win_opportunity(caller(), request.id, _facts(request.facts), request.expected_version)
        return opportunity_pb(row, self.uc)

    async def LoseOpportunity(self, request: pb.LoseOpportunityRequest, context: grpc.aio.ServicerContext) -> pb.Opportunity:
        row = await self.uc.lose_opportunity(caller(), request.id, request.reason, request.expected_version)
        return opportunity_pb(row, self.uc)

    async def ListStageHistory(self, request: pb.ListStageHistoryRequest,
                               context: grpc.aio.ServicerContext) -> pb.ListStageHistoryResponse:
        rows = await self.uc.stage_history(caller(), request.opportunity_id)
        return pb.ListStageHistoryResponse(changes=[pb.StageChange(
            id=r.id, opportunity_id=r.opportunity_id, kind=r.kind, from_stage=r.from_stage, to_stage=r.to_stage,
            at=to_timestamp(r.at), by=r.by, facts=_facts_pb(decode_facts(r.facts, self.uc.model)), reason=r.reason,
            skipped_stages=r.skipped_stages) for r in rows])

    async def ListGateViolations(self, request: pb.ListGateViolationsRequest,
                                 context: grpc.aio.ServicerContext) -> pb.ListGateViolationsResponse:
        rows, next_token = await self.uc.list_gate_violations(
            caller(), actor_id=request.actor_id, opportunity_id=request.opportunity_id, page_size=request.page_size,
            after=request.page_token)
        return pb.ListGateViolationsResponse(violations=[violation_pb(r) for r in rows], next_page_token=next_token)

    async def CreateLead(self, request: pb.CreateLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        fields = {name: getattr(request, name) for name in ("company_name", "contact_name", "phone", "email", "region",
                                                             "industry", "source")}
        amount = _money(request.estimated_amount, "estimated_amount") if request.HasField("estimated_amount") else None
        return lead_pb(await self.uc.create_lead(caller(), fields, amount, request.assign_to))

    async def GetLead(self, request: pb.GetLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.get_lead(caller(), request.id))

    async def ListLeads(self, request: pb.ListLeadsRequest, context: grpc.aio.ServicerContext) -> pb.ListLeadsResponse:
        rows, next_token = await self.uc.list_leads(caller(), status=request.status, owner_id=request.owner_id,
                                                    page_size=request.page_size, after=request.page_token)
        return pb.ListLeadsResponse(leads=[lead_pb(r) for r in rows], next_page_token=next_token)

    async def AssignLead(self, request: pb.AssignLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.assign_lead(caller(), request.id, request.rep_id))

    async def ClaimLead(self, request: pb.ClaimLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.claim_lead(caller(), request.id))

    async def CloseLead(self, request: pb.CloseLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.close_lead(caller(), request.id, request.reason))

    async def ConvertLead(self, request: pb.ConvertLeadRequest, context: grpc.aio.ServicerContext) -> pb.ConvertLeadResponse:
        amount = _money(request.amount, "amount") if request.HasField("amount") else None
        lead, opportunity = await self.uc.convert_lead(caller(), request.id, request.opportunity_name, amount,
                                                       _date(request.expected_close_date, "expected_close_date"))
        return pb.ConvertLeadResponse(lead=lead_pb(lead), customer_id=opportunity.customer_id,
                                      opportunity=opportunity_pb(opportunity, self.uc))

    async def GetForecast(self, request: pb.GetForecastRequest, context: grpc.aio.ServicerContext) -> pb.Forecast:
        buckets = await self.uc.forecast(caller(), request.group_by, request.subtree)
        return pb.Forecast(buckets=[bucket_pb(b) for b in buckets])

    async def GetStageModel(self, request: pb.GetStageModelRequest, context: grpc.aio.ServicerContext) -> pb.StageModel:
        return stage_model_pb(self.uc.stage_model(caller(), request.code))
