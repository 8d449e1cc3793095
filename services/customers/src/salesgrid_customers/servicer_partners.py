"""Thin gRPC servicer of channel partners: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import partners_pb2 as pb
from salesgrid.customers.v1 import partners_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_customers.messages import customer_pb, customers_pb
from salesgrid_customers.usecases import CustomersUseCases

Ctx = grpc.aio.ServicerContext


class ChannelPartnersServicer(pb_grpc.ChannelPartnersServicer):
    def __init__(self, uc: CustomersUseCases) -> None:
        self.uc = uc

    async def SetPartnerProfile(self, request: pb.SetPartnerProfileRequest, context: Ctx) -> cpb.Customer:
        return customer_pb(
            await self.uc.set_partner_profile(
                caller(),
                request.customer_id,
                channel=request.channel,
                tier=request.tier,
                contract_id=request.contract_id,
                expected_version=request.expected_version,
            )
        )

    async def ListPartners(self, request: pb.ListPartnersRequest, context: Ctx) -> cpb.ListCustomersResponse:
        rows, cursor = await self.uc.list_partners(
            caller(), channel=request.channel, tier=request.tier, page_size=request.page_size, cursor=request.cursor
        )
        return customers_pb(rows, cursor)
