"""The pipeline service seen from contracts: a contract made from an opportunity needs it won and
in the caller's scope. Calls go over gRPC on behalf of the caller (his token is forwarded)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from salesgrid.pipeline.v1 import pipeline_pb2 as ppb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as ppb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.dependencies import call_error
from salesgrid_common.errors import FailedPrecondition
from salesgrid_common.service_context import outgoing_metadata

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class WonOpportunity:
    opportunity_id: str
    name: str
    customer_id: str
    amount: str
    currency: str
    product_ids: tuple[str, ...]
    channel: str = "direct"
    partner_id: str = ""


class PipelineClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = ppb_grpc.PipelineStub(channel)

    async def won_opportunity(self, principal: Principal, opportunity_id: str) -> WonOpportunity:
        """The opportunity if the caller may read it and it is won; not found and out of scope
        read the same (existence does not leak), both naming opportunity_id."""
        try:
            reply = await self.stub.GetOpportunity(
                ppb.GetOpportunityRequest(id=opportunity_id),
                timeout=TIMEOUT_SECONDS,
                metadata=outgoing_metadata(principal.token, principal.client_ip),
            )
        except grpc.aio.AioRpcError as error:
            raise call_error(
                "pipeline",
                error,
                "opportunity_id",
                hidden=(f"opportunity {opportunity_id!r} does not exist or is outside your scope"),
            ) from None
        if reply.status != "won":
            raise FailedPrecondition(f"opportunity {reply.name!r} is {reply.status}, not won", "opportunity_id")
        return WonOpportunity(
            reply.id,
            reply.name,
            reply.customer_id,
            reply.amount.amount,
            reply.amount.currency,
            tuple(p.product_id for p in reply.products),
            reply.channel or "direct",
            reply.partner_id,
        )
