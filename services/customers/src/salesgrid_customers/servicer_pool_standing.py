"""Thin gRPC servicer of the caller's pool standing: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc
from salesgrid.customers.v1 import pool_standing_pb2 as pb
from salesgrid.customers.v1 import pool_standing_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp

from salesgrid_customers.servicer import policy_pb
from salesgrid_customers.usecases.pool_standing import PoolStandingUseCases

Ctx = grpc.aio.ServicerContext


class PoolStandingServicer(pb_grpc.PoolStandingServicer):
    def __init__(self, uc: PoolStandingUseCases) -> None:
        self.uc = uc

    async def GetMyPoolStanding(self, request: pb.GetMyPoolStandingRequest, context: Ctx) -> pb.MyPoolStanding:
        principal = caller()
        mine, zone_name = await self.uc.my_standing(principal)
        return pb.MyPoolStanding(
            policy=policy_pb(principal.unit_id, mine.policy, mine.source_unit_id),
            held_count=mine.held_count,
            claims_today=mine.claims_today,
            customers_left=mine.customers_left,
            claims_left_today=mine.claims_left_today,
            can_claim=mine.can_claim,
            time_zone=zone_name,
            cool_downs=[
                pb.PoolCoolDown(
                    customer_id=c.customer_id, legal_name=c.legal_name, claimable_from=to_timestamp(c.claimable_from)
                )
                for c in mine.cool_downs
            ],
        )
