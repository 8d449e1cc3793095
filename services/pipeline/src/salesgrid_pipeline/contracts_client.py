"""The contracts service seen from the pipeline, on behalf of the caller (his token forwarded):
its product catalogue, from which quote lines take each product's name and price and keep a
snapshot (so later price changes leave issued quotes alone), and the draft contract an accepted
quote creates there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import grpc
from salesgrid.contracts.v1 import contracts_pb2 as kpb
from salesgrid.contracts.v1 import contracts_pb2_grpc as kpb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.dependencies import call_error
from salesgrid_common.errors import (
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_common.service_context import outgoing_metadata

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CatalogueProduct:
    product_id: str
    name: str
    prices: dict[str, Decimal]  # currency → unit price


class ContractsClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = kpb_grpc.ContractsStub(channel)

    async def products(self, principal: Principal, product_ids: Sequence[str]) -> dict[str, CatalogueProduct]:
        """The active catalogue products among ``product_ids`` (unknown or inactive ones are absent)."""
        try:
            reply = await self.stub.ListProducts(
                kpb.ListProductsRequest(),
                timeout=TIMEOUT_SECONDS,
                metadata=outgoing_metadata(principal.token, principal.client_ip),
            )
        except grpc.aio.AioRpcError as error:
            raise call_error(
                "contracts",
                error,
                "lines",
                passed={
                    grpc.StatusCode.PERMISSION_DENIED: (PermissionDenied, "you may not read the product catalogue")
                },
            ) from None
        wanted = set(product_ids)
        return {
            p.id: CatalogueProduct(p.id, p.name, {price.currency: Decimal(price.amount) for price in p.prices})
            for p in reply.products
            if p.id in wanted and p.active
        }

    async def create_contract(self, principal: Principal, draft: ContractDraftRequest) -> str:
        return await create_contract(self.stub, principal, draft)


@dataclass(frozen=True)
class ContractLineDraft:
    product_id: str
    quantity: str
    unit_price: str
    discount_percent: str
    description: str


@dataclass(frozen=True)
class ContractDraftRequest:
    customer_id: str
    currency: str
    branch_code: str
    start_date: str
    end_date: str
    terms: str
    lines: tuple[ContractLineDraft, ...]
    channel: str = "direct"  # the opportunity's sales channel and partner carry over to the contract
    partner_id: str = ""


def _contract_field(error: grpc.aio.AioRpcError) -> str:
    """`contract.<field>` for the fields the caller gave in the contract block, else `contract`."""
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            for violation in bad.field_violations:
                if violation.field in ("branch_code", "start_date", "end_date", "terms"):
                    return f"contract.{violation.field}"
    return "contract"


async def create_contract(stub: kpb_grpc.ContractsStub, principal: Principal, draft: ContractDraftRequest) -> str:
    """Create the draft contract through the contracts service on behalf of the caller; its id."""
    request = kpb.CreateContractRequest(
        customer_id=draft.customer_id,
        currency=draft.currency,
        branch_code=draft.branch_code,
        start_date=draft.start_date,
        end_date=draft.end_date,
        terms=draft.terms,
        lines=[
            kpb.ContractLineInput(
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                description=line.description,
            )
            for line in draft.lines
        ],
        channel=draft.channel,
        partner_id=draft.partner_id,
    )
    try:
        reply = await stub.CreateContract(
            request, timeout=TIMEOUT_SECONDS, metadata=outgoing_metadata(principal.token, principal.client_ip)
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise ValidationFailed(
                f"the contracts service refused the draft: {error.details()}", _contract_field(error)
            ) from None
        raise call_error(
            "contracts",
            error,
            "contract",
            passed={grpc.StatusCode.PERMISSION_DENIED: (PermissionDenied, "you may not create contracts: {details}")},
            doing="create the draft",
            consequence="the quote was not accepted",
        ) from None
    return reply.id
