"""The contracts service's product catalogue seen from the pipeline: quote lines take each
product's name and price from there (on behalf of the caller, his token forwarded) and keep a
snapshot, so later price changes leave issued quotes alone."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import grpc

from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid_common.auth import Principal
from salesgrid_common.errors import FailedPrecondition, PermissionDenied
from salesgrid_common.service import outgoing_metadata

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CatalogueProduct:
    product_id: str
    name: str
    prices: dict[str, Decimal]  # currency → unit price


class CatalogueClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = kpb_grpc.ContractsStub(channel)

    async def products(self, principal: Principal, product_ids: Sequence[str]) -> dict[str, CatalogueProduct]:
        """The active catalogue products among ``product_ids`` (unknown or inactive ones are absent)."""
        try:
            reply = await self.stub.ListProducts(kpb.ListProductsRequest(), timeout=TIMEOUT_SECONDS,
                                                 metadata=outgoing_metadata(principal.token, principal.client_ip))
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.PERMISSION_DENIED:
                raise PermissionDenied("you may not read the product catalogue", "lines") from None
            raise FailedPrecondition(f"the contracts service could not answer ({error.code().name}); retry later",
                                     "lines") from None
        wanted = set(product_ids)
        return {p.id: CatalogueProduct(p.id, p.name, {price.currency: Decimal(price.amount) for price in p.prices})
                for p in reply.products if p.id in wanted and p.active}
