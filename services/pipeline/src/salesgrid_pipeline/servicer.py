"""Thin gRPC servicer: proto ↔ use case translation (decimal strings, dates, typed facts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.auth import caller
from salesgrid_common.custom_fields.structs import struct_of, values_from
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline import models
from salesgrid_pipeline.domain.facts import DocumentRef, FactValue, VisitKind, VisitRef
from salesgrid_pipeline.domain.forecast import ForecastBucket
from salesgrid_pipeline.domain.leads import AssignmentRule
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Competitor, OpportunityInput, OpportunityProduct
from salesgrid_pipeline.domain.quotes import Discount, DiscountKind
from salesgrid_pipeline.domain.facts import FactSpec, FactType
from salesgrid_pipeline.domain.stage_model import Outcome, Stage, StageModel
from salesgrid_pipeline.gate_fact_codec import decode_facts, encode_fact
from salesgrid_pipeline.usecases import ContractBlock, ImportRow, PipelineUseCases, QuoteLineRequest

LEAD_TEXT_FIELDS = ("company_name", "contact_name", "phone", "email", "region", "industry", "source")

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
        customer_id=request.customer_id,
        name=request.name,
        amount=_money(request.amount, "amount"),
        expected_close_date=_date(request.expected_close_date, "expected_close_date"),
        competitors=tuple(
            Competitor(c.name, c.strengths, _money(c.price, f"competitors[{i}].price") if c.HasField("price") else None)
            for i, c in enumerate(request.competitors)
        ),
        products=tuple(
            OpportunityProduct(p.product_id, _decimal(p.quantity, f"products[{i}].quantity", Decimal(1)))
            for i, p in enumerate(request.products)
        ),
    )


def _quote_lines(lines: Iterable[pb.QuoteLineInput]) -> list[QuoteLineRequest]:
    parsed = []
    for i, line in enumerate(lines):
        where = f"lines[{i}]"
        discount = None
        if line.discount_kind:
            try:
                kind = DiscountKind(line.discount_kind)
            except ValueError:
                raise ValidationFailed("must be percent or amount", f"{where}.discount_kind") from None
            discount = Discount(kind, _decimal(line.discount_value, f"{where}.discount_value"))
        if not line.product_id.strip():
            raise ValidationFailed("is required", f"{where}.product_id")
        parsed.append(
            QuoteLineRequest(line.product_id, _decimal(line.quantity, f"{where}.quantity", Decimal(1)), discount)
        )
    return parsed


def _enum(kind: type, value: str, field: str):  # type: ignore[no-untyped-def]
    try:
        return kind(value)
    except ValueError:
        raise ValidationFailed(f"must be one of {[k.value for k in kind]}", field) from None


def _stage_model(message: pb.StageModel) -> StageModel:
    """Proto → domain; the domain's validate_stage_model then checks the model as a whole."""
    stages = []
    for i, stage in enumerate(message.stages):
        where = f"stages[{i}]"
        facts = tuple(
            FactSpec(
                f.code,
                f.name,
                _enum(FactType, f.type, f"{where}.required_facts[{j}].type"),
                min_count=f.min_count or 1,
                visit_kinds=frozenset(
                    _enum(VisitKind, k, f"{where}.required_facts[{j}].visit_kinds") for k in f.visit_kinds
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
                outcome=_enum(Outcome, stage.outcome, f"{where}.outcome") if stage.outcome else None,
            )
        )
    return StageModel(
        code=message.code.strip(), name=message.name, stages=tuple(stages), entry_stage_code=message.entry_stage
    )


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
        id=row.id,
        customer_id=row.customer_id,
        name=row.name,
        owner_id=row.owner_id,
        org_path=row.org_path,
        amount=pb.PipelineMoney(amount=row.amount, currency=row.currency),
        expected_close_date=row.expected_close_date.isoformat(),
        competitors=[
            pb.Competitor(
                name=c["name"],
                strengths=c["strengths"],
                price=pb.PipelineMoney(**c["price"]) if c.get("price") else None,
            )
            for c in row.competitors
        ],
        products=[pb.OpportunityProduct(**p) for p in row.products],
        stage=row.stage,
        stage_entered_at=to_timestamp(row.stage_entered_at),
        status=row.status,
        lost_reason=row.lost_reason,
        facts=_facts_pb(uc.facts_of(row)),
        probability=uc.model_of(row.stage_model).stage(row.stage).probability,
        stage_model=row.stage_model,
        version=row.version,
        created_at=to_timestamp(row.created_at),
        commit=row.commit,
        channel=row.channel or "direct",
        partner_id=row.partner_id or "",
        custom_fields=struct_of(row.custom_fields),
    )


def quote_pb(row: models.Quote, steps: Iterable[models.QuoteApprovalStep] = ()) -> pb.Quote:
    return pb.Quote(
        id=row.id,
        opportunity_id=row.opportunity_id,
        version=row.version,
        currency=row.currency,
        lines=[pb.QuoteLine(**line) for line in row.lines],
        subtotal=row.subtotal,
        discount_total=row.discount_total,
        total=row.total,
        status=row.status,
        created_at=to_timestamp(row.created_at),
        created_by=row.created_by,
        accepted_at=to_timestamp(row.accepted_at),
        accepted_by=row.accepted_by,
        contract_id=row.contract_id or "",
        discount_rate=row.discount_rate or "0",
        discount_approval=row.discount_approval or "",
        approval_steps=[
            pb.QuoteApprovalStep(
                order=s.step_order,
                role=s.role,
                approver_id=s.approver_id,
                status=s.status,
                activated_at=to_timestamp(s.activated_at),
                decided_at=to_timestamp(s.decided_at),
                comment=s.comment or "",
            )
            for s in steps
        ],
    )


async def quotes_pb(uc: PipelineUseCases, rows: list[models.Quote]) -> list[pb.Quote]:
    """Quotes with their special-discount approval steps."""
    steps = await uc.quote_steps([r.id for r in rows if r.discount_approval])
    return [quote_pb(r, steps.get(r.id, ())) for r in rows]


def rules_pb(rules: Iterable[AssignmentRule]) -> pb.LeadAssignmentRules:
    return pb.LeadAssignmentRules(
        rules=[
            pb.LeadAssignmentRule(region=r.region, industry=r.industry, rep_id=r.rep_id or "", team_id=r.team_id or "")
            for r in rules
        ]
    )


def lead_pb(row: models.Lead) -> pb.Lead:
    amount = (
        pb.PipelineMoney(amount=row.estimated_amount, currency=row.estimated_currency or "")
        if row.estimated_amount
        else None
    )
    return pb.Lead(
        id=row.id,
        company_name=row.company_name,
        contact_name=row.contact_name,
        phone=row.phone,
        email=row.email,
        region=row.region,
        industry=row.industry,
        source=row.source,
        estimated_amount=amount,
        status=row.status,
        owner_id=row.owner_id,
        org_path=row.org_path,
        assigned_at=to_timestamp(row.assigned_at),
        last_followed_up_at=to_timestamp(row.last_followed_up_at),
        closed_reason=row.closed_reason,
        closed_at=to_timestamp(row.closed_at),
        created_at=to_timestamp(row.created_at),
        created_by=row.created_by,
        version=row.version,
        custom_fields=struct_of(row.custom_fields),
    )


def violation_pb(row: models.GateViolation) -> pb.GateViolation:
    return pb.GateViolation(
        id=row.id,
        opportunity_id=row.opportunity_id,
        actor_id=row.actor_id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        at=to_timestamp(row.at),
        from_stage=row.from_stage,
        target_stage=row.target_stage,
        missing_facts=row.missing_facts,
        invalid_facts=[pb.InvalidFact(code=c, message=m) for c, m in row.invalid_facts],
        unskippable_stages=row.unskippable_stages,
    )


def bucket_pb(bucket: ForecastBucket) -> pb.ForecastBucket:
    return pb.ForecastBucket(
        key=bucket.key,
        month=bucket.month,
        currency=bucket.currency,
        count=bucket.count,
        amount=str(bucket.amount),
        weighted_amount=str(bucket.weighted_amount),
        won_amount=str(bucket.won_amount),
        commit_amount=str(bucket.commit_amount),
        best_case_amount=str(bucket.best_case_amount),
        pipeline_amount=str(bucket.pipeline_amount),
    )


def stage_model_pb(model: StageModel) -> pb.StageModel:
    return pb.StageModel(
        code=model.code,
        name=model.name,
        entry_stage=model.entry_stage_code,
        stages=[
            pb.Stage(
                code=s.code,
                name=s.name,
                probability=s.probability,
                sla_days=s.sla_days or 0,
                skippable=s.skippable,
                outcome=s.outcome.value if s.outcome else "",
                required_facts=[
                    pb.FactSpec(
                        code=f.code,
                        name=f.name,
                        type=f.type.value,
                        min_count=f.min_count,
                        visit_kinds=sorted(k.value for k in f.visit_kinds),
                    )
                    for f in s.required_facts
                ],
                required_custom_fields=list(s.required_custom_fields),
            )
            for s in model.stages
        ],
    )


class PipelineServicer(pb_grpc.PipelineServicer):
    def __init__(self, usecases: PipelineUseCases) -> None:
        self.uc = usecases

    async def CreateOpportunity(
        self, request: pb.CreateOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.create_opportunity(
            caller(),
            _opportunity_input(request),
            request.owner_id,
            request.stage_model,
            values_from(request),
            request.channel,
            request.partner_id,
        )
        return opportunity_pb(row, self.uc)

    async def GetOpportunity(
        self, request: pb.GetOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        return opportunity_pb(await self.uc.get_opportunity(caller(), request.id), self.uc)

    async def ListOpportunities(
        self, request: pb.ListOpportunitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOpportunitiesResponse:
        rows, next_token = await self.uc.list_opportunities(
            caller(),
            owner_id=request.owner_id,
            customer_id=request.customer_id,
            status=request.status,
            stage=request.stage,
            page_size=request.page_size,
            after=request.page_token,
            custom_fields=dict(request.custom_fields),
        )
        return pb.ListOpportunitiesResponse(
            opportunities=[opportunity_pb(r, self.uc) for r in rows], next_page_token=next_token
        )

    async def AdvanceOpportunity(
        self, request: pb.AdvanceOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.advance_opportunity(
            caller(), request.id, request.target_stage, _facts(request.facts), request.expected_version
        )
        return opportunity_pb(row, self.uc)

    async def RegressOpportunity(
        self, request: pb.RegressOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.regress_opportunity(
            caller(), request.id, request.target_stage, request.reason, request.expected_version
        )
        return opportunity_pb(row, self.uc)

    async def WinOpportunity(
        self, request: pb.WinOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.win_opportunity(caller(), request.id, _facts(request.facts), request.expected_version)
        return opportunity_pb(row, self.uc)

    async def LoseOpportunity(
        self, request: pb.LoseOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.lose_opportunity(caller(), request.id, request.reason, request.expected_version)
        return opportunity_pb(row, self.uc)

    async def ListStageHistory(
        self, request: pb.ListStageHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStageHistoryResponse:
        model, rows = await self.uc.stage_history(caller(), request.opportunity_id)
        return pb.ListStageHistoryResponse(
            changes=[
                pb.StageChange(
                    id=r.id,
                    opportunity_id=r.opportunity_id,
                    kind=r.kind,
                    from_stage=r.from_stage,
                    to_stage=r.to_stage,
                    at=to_timestamp(r.at),
                    by=r.by,
                    facts=_facts_pb(decode_facts(r.facts, model)),
                    reason=r.reason,
                    skipped_stages=r.skipped_stages,
                )
                for r in rows
            ]
        )

    async def ListGateViolations(
        self, request: pb.ListGateViolationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGateViolationsResponse:
        rows, next_token = await self.uc.list_gate_violations(
            caller(),
            actor_id=request.actor_id,
            opportunity_id=request.opportunity_id,
            page_size=request.page_size,
            after=request.page_token,
        )
        return pb.ListGateViolationsResponse(violations=[violation_pb(r) for r in rows], next_page_token=next_token)

    async def CreateLead(self, request: pb.CreateLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        fields = {
            name: getattr(request, name)
            for name in ("company_name", "contact_name", "phone", "email", "region", "industry", "source")
        }
        amount = _money(request.estimated_amount, "estimated_amount") if request.HasField("estimated_amount") else None
        return lead_pb(await self.uc.create_lead(caller(), fields, amount, request.assign_to, values_from(request)))

    async def UpdateLeadCustomFields(
        self, request: pb.UpdateLeadCustomFieldsRequest, context: grpc.aio.ServicerContext
    ) -> pb.Lead:
        return lead_pb(
            await self.uc.update_lead_custom_fields(
                caller(), request.id, request.expected_version, values_from(request)
            )
        )

    async def GetLead(self, request: pb.GetLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.get_lead(caller(), request.id))

    async def ListLeads(self, request: pb.ListLeadsRequest, context: grpc.aio.ServicerContext) -> pb.ListLeadsResponse:
        rows, next_token = await self.uc.list_leads(
            caller(),
            status=request.status,
            owner_id=request.owner_id,
            page_size=request.page_size,
            after=request.page_token,
            custom_fields=dict(request.custom_fields),
        )
        return pb.ListLeadsResponse(leads=[lead_pb(r) for r in rows], next_page_token=next_token)

    async def AssignLead(self, request: pb.AssignLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.assign_lead(caller(), request.id, request.rep_id))

    async def ClaimLead(self, request: pb.ClaimLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.claim_lead(caller(), request.id))

    async def CloseLead(self, request: pb.CloseLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.close_lead(caller(), request.id, request.reason))

    async def ConvertLead(
        self, request: pb.ConvertLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConvertLeadResponse:
        amount = _money(request.amount, "amount") if request.HasField("amount") else None
        lead, opportunity = await self.uc.convert_lead(
            caller(),
            request.id,
            request.opportunity_name,
            amount,
            _date(request.expected_close_date, "expected_close_date"),
        )
        return pb.ConvertLeadResponse(
            lead=lead_pb(lead), customer_id=opportunity.customer_id, opportunity=opportunity_pb(opportunity, self.uc)
        )

    async def GetForecast(self, request: pb.GetForecastRequest, context: grpc.aio.ServicerContext) -> pb.Forecast:
        buckets = await self.uc.forecast(caller(), request.group_by, request.subtree)
        return pb.Forecast(buckets=[bucket_pb(b) for b in buckets])

    async def GetStageModel(self, request: pb.GetStageModelRequest, context: grpc.aio.ServicerContext) -> pb.StageModel:
        return stage_model_pb(await self.uc.get_stage_model(caller(), request.code))

    async def ListStageModels(
        self, request: pb.ListStageModelsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStageModelsResponse:
        return pb.ListStageModelsResponse(models=[stage_model_pb(m) for m in await self.uc.list_stage_models(caller())])

    async def PutStageModel(self, request: pb.PutStageModelRequest, context: grpc.aio.ServicerContext) -> pb.StageModel:
        return stage_model_pb(await self.uc.put_stage_model(caller(), _stage_model(request.model)))

    async def UpdateOpportunity(
        self, request: pb.UpdateOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        row = await self.uc.update_opportunity(
            caller(),
            request.id,
            amount=_money(request.amount, "amount") if request.HasField("amount") else None,
            expected_close_date=_date(request.expected_close_date, "expected_close_date")
            if request.expected_close_date
            else None,
            commit=request.commit if request.HasField("commit") else None,
            expected_version=request.expected_version,
            custom_fields=values_from(request),
        )
        return opportunity_pb(row, self.uc)

    async def CreateQuote(self, request: pb.CreateQuoteRequest, context: grpc.aio.ServicerContext) -> pb.Quote:
        row = await self.uc.create_quote(
            caller(), request.opportunity_id, request.currency, _quote_lines(request.lines)
        )
        return (await quotes_pb(self.uc, [row]))[0]

    async def ListQuotes(
        self, request: pb.ListQuotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListQuotesResponse:
        return pb.ListQuotesResponse(
            quotes=await quotes_pb(self.uc, await self.uc.list_quotes(caller(), request.opportunity_id))
        )

    async def AcceptQuote(self, request: pb.AcceptQuoteRequest, context: grpc.aio.ServicerContext) -> pb.Quote:
        contract = None
        if request.HasField("contract"):
            block = request.contract
            contract = ContractBlock(block.branch_code, block.start_date, block.end_date, block.terms)
        return (await quotes_pb(self.uc, [await self.uc.accept_quote(caller(), request.id, contract)]))[0]

    async def ImportLeads(
        self, request: pb.ImportLeadsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportLeadsResponse:
        rows = [
            ImportRow(
                fields={name: getattr(r, name) for name in LEAD_TEXT_FIELDS},
                estimated_amount=r.estimated_amount.amount,
                currency=r.estimated_amount.currency,
                assign_to=r.assign_to,
                custom_fields=values_from(r),
            )
            for r in request.rows
        ]
        created, errors = await self.uc.import_leads(caller(), rows)
        return pb.ImportLeadsResponse(
            created_lead_ids=created,
            rows=len(rows),
            errors=[pb.ImportRowError(row=e.row, column=e.column, message=e.message) for e in errors],
        )

    async def GetLeadAssignmentRules(
        self, request: pb.GetLeadAssignmentRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LeadAssignmentRules:
        return rules_pb(await self.uc.get_assignment_rules(caller()))

    async def PutLeadAssignmentRules(
        self, request: pb.PutLeadAssignmentRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LeadAssignmentRules:
        rules = [AssignmentRule(r.region, r.industry, r.rep_id or None, r.team_id or None) for r in request.rules]
        return rules_pb(await self.uc.put_assignment_rules(caller(), rules))
