"""Thin gRPC servicer: requests go to the use cases through translate/ (proto <-> domain)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from salesgrid.common.v1 import imports_pb2
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.custom_fields.structs import values_from
from salesgrid_common.imports import upload
from salesgrid_common.imports.messages import job_pb as import_job_pb
from salesgrid_pipeline.domain.lead_assignment import AssignmentRule
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.translate.leads import lead_pb, rules_pb
from salesgrid_pipeline.translate.opportunities import opportunity_pb as _opportunity_pb
from salesgrid_pipeline.translate.opportunities import stage_change_pb, violation_pb
from salesgrid_pipeline.translate.quotes import quotes_pb
from salesgrid_pipeline.translate.requests import (
    date_of,
    gate_facts_of,
    money_of,
    opportunity_input,
    quote_lines,
    stage_model_of,
)
from salesgrid_pipeline.translate.stage_models import bucket_pb, stage_model_pb
from salesgrid_pipeline.usecases import ContractBlock, PipelineUseCases


def opportunity_pb(opportunity: Opportunity, uc: PipelineUseCases) -> pb.Opportunity:
    return _opportunity_pb(opportunity, uc.model_of(opportunity.stage_model))


class PipelineServicer(pb_grpc.PipelineServicer):
    def __init__(self, usecases: PipelineUseCases) -> None:
        self.uc = usecases

    async def CreateOpportunity(
        self, request: pb.CreateOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.create_opportunity(
            caller(),
            opportunity_input(request),
            request.owner_id,
            request.stage_model,
            values_from(request),
            request.channel,
            request.partner_id,
        )
        return opportunity_pb(opportunity, self.uc)

    async def GetOpportunity(
        self, request: pb.GetOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        return opportunity_pb(await self.uc.get_opportunity(caller(), request.id), self.uc)

    async def ListOpportunities(
        self, request: pb.ListOpportunitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOpportunitiesResponse:
        opportunities, next_token = await self.uc.list_opportunities(
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
            opportunities=[opportunity_pb(o, self.uc) for o in opportunities], next_page_token=next_token
        )

    async def AdvanceOpportunity(
        self, request: pb.AdvanceOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.advance_opportunity(
            caller(), request.id, request.target_stage, gate_facts_of(request.facts), request.expected_version
        )
        return opportunity_pb(opportunity, self.uc)

    async def RegressOpportunity(
        self, request: pb.RegressOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.regress_opportunity(
            caller(), request.id, request.target_stage, request.reason, request.expected_version
        )
        return opportunity_pb(opportunity, self.uc)

    async def WinOpportunity(
        self, request: pb.WinOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.win_opportunity(
            caller(), request.id, gate_facts_of(request.facts), request.expected_version
        )
        return opportunity_pb(opportunity, self.uc)

    async def LoseOpportunity(
        self, request: pb.LoseOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.lose_opportunity(caller(), request.id, request.reason, request.expected_version)
        return opportunity_pb(opportunity, self.uc)

    async def ListStageHistory(
        self, request: pb.ListStageHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStageHistoryResponse:
        _, changes = await self.uc.stage_history(caller(), request.opportunity_id)
        return pb.ListStageHistoryResponse(changes=[stage_change_pb(c) for c in changes])

    async def ListGateViolations(
        self, request: pb.ListGateViolationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListGateViolationsResponse:
        violations, next_token = await self.uc.list_gate_violations(
            caller(),
            actor_id=request.actor_id,
            opportunity_id=request.opportunity_id,
            page_size=request.page_size,
            after=request.page_token,
        )
        return pb.ListGateViolationsResponse(
            violations=[violation_pb(v) for v in violations], next_page_token=next_token
        )

    async def CreateLead(self, request: pb.CreateLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        fields = {
            name: getattr(request, name)
            for name in ("company_name", "contact_name", "phone", "email", "region", "industry", "source")
        }
        amount = (
            money_of(request.estimated_amount, "estimated_amount") if request.HasField("estimated_amount") else None
        )
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
        leads, next_token = await self.uc.list_leads(
            caller(),
            status=request.status,
            owner_id=request.owner_id,
            page_size=request.page_size,
            after=request.page_token,
            custom_fields=dict(request.custom_fields),
        )
        return pb.ListLeadsResponse(leads=[lead_pb(lead) for lead in leads], next_page_token=next_token)

    async def AssignLead(self, request: pb.AssignLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.assign_lead(caller(), request.id, request.rep_id))

    async def ClaimLead(self, request: pb.ClaimLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.claim_lead(caller(), request.id))

    async def CloseLead(self, request: pb.CloseLeadRequest, context: grpc.aio.ServicerContext) -> pb.Lead:
        return lead_pb(await self.uc.close_lead(caller(), request.id, request.reason))

    async def ConvertLead(
        self, request: pb.ConvertLeadRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConvertLeadResponse:
        amount = money_of(request.amount, "amount") if request.HasField("amount") else None
        lead, opportunity = await self.uc.convert_lead(
            caller(),
            request.id,
            request.opportunity_name,
            amount,
            date_of(request.expected_close_date, "expected_close_date"),
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
        return stage_model_pb(await self.uc.put_stage_model(caller(), stage_model_of(request.model)))

    async def UpdateOpportunity(
        self, request: pb.UpdateOpportunityRequest, context: grpc.aio.ServicerContext
    ) -> pb.Opportunity:
        opportunity = await self.uc.update_opportunity(
            caller(),
            request.id,
            amount=money_of(request.amount, "amount") if request.HasField("amount") else None,
            expected_close_date=date_of(request.expected_close_date, "expected_close_date")
            if request.expected_close_date
            else None,
            commit=request.commit if request.HasField("commit") else None,
            expected_version=request.expected_version,
            custom_fields=values_from(request),
        )
        return opportunity_pb(opportunity, self.uc)

    async def CreateQuote(self, request: pb.CreateQuoteRequest, context: grpc.aio.ServicerContext) -> pb.Quote:
        quote = await self.uc.create_quote(
            caller(), request.opportunity_id, request.currency, quote_lines(request.lines)
        )
        return (await quotes_pb(self.uc, [quote]))[0]

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

    async def StartLeadImport(
        self, request_iterator: AsyncIterator[imports_pb2.ImportChunk], context: grpc.aio.ServicerContext
    ) -> imports_pb2.ImportJob:
        with upload.spool() as spool:
            fmt = await upload.receive(request_iterator, spool)
            return import_job_pb(await self.uc.start_lead_import(caller(), fmt, spool))

    async def GetLeadImport(
        self, request: imports_pb2.GetImportRequest, context: grpc.aio.ServicerContext
    ) -> imports_pb2.ImportJob:
        return import_job_pb(*await self.uc.get_lead_import(caller(), request.id, request.page_size, request.cursor))

    async def GetLeadAssignmentRules(
        self, request: pb.GetLeadAssignmentRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LeadAssignmentRules:
        return rules_pb(await self.uc.get_assignment_rules(caller()))

    async def PutLeadAssignmentRules(
        self, request: pb.PutLeadAssignmentRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.LeadAssignmentRules:
        rules = [AssignmentRule(r.region, r.industry, r.rep_id or None, r.team_id or None) for r in request.rules]
        return rules_pb(await self.uc.put_assignment_rules(caller(), rules))
