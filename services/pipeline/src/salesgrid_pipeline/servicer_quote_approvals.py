"""Thin gRPC servicer of special-discount approval (特批折扣): proto ↔ use case translation."""

from __future__ import annotations

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_pipeline.domain.discounts import DiscountPolicy
from salesgrid_pipeline.translate.quotes import quote_pb, quotes_pb
from salesgrid_pipeline.usecases import PipelineUseCases

Ctx = grpc.aio.ServicerContext


def policy_pb(policy: DiscountPolicy, asked_for: str) -> pb.DiscountPolicy:
    return pb.DiscountPolicy(
        org_unit_id=asked_for,
        threshold_percent=str(policy.threshold_percent),
        director_above_percent=str(policy.director_above_percent),
        inherited=policy.org_unit_id != asked_for,
    )


class QuoteApprovalsServicer(pb_grpc.QuoteApprovalsServicer):
    def __init__(self, uc: PipelineUseCases) -> None:
        self.uc = uc

    async def DecideQuoteDiscount(self, request: pb.DecideQuoteDiscountRequest, context: Ctx) -> pb.Quote:
        row, steps = await self.uc.decide_quote_discount(
            caller(), request.quote_id, approve=request.approve, comment=request.comment
        )
        return quote_pb(row, steps)

    async def ListPendingQuoteApprovals(
        self, request: pb.ListPendingQuoteApprovalsRequest, context: Ctx
    ) -> pb.ListQuotesResponse:
        return pb.ListQuotesResponse(quotes=await quotes_pb(self.uc, await self.uc.pending_quote_approvals(caller())))

    async def SetDiscountPolicy(self, request: pb.DiscountPolicy, context: Ctx) -> pb.DiscountPolicy:
        policy = await self.uc.set_discount_policy(
            caller(), request.org_unit_id, request.threshold_percent, request.director_above_percent
        )
        return policy_pb(policy, policy.org_unit_id)

    async def GetDiscountPolicy(self, request: pb.GetDiscountPolicyRequest, context: Ctx) -> pb.DiscountPolicy:
        policy = await self.uc.get_discount_policy(caller(), request.org_unit_id)
        return policy_pb(policy, request.org_unit_id.strip())
