"""The customers service seen from the pipeline: a customer must exist and be in the caller's
scope before an opportunity hangs on it, and lead conversion creates the customer there (with
its duplicate check). Calls go over gRPC on behalf of the caller (his token is forwarded)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.dependencies import call_error
from salesgrid_common.errors import AlreadyExists, DomainError, PermissionDenied, ValidationFailed
from salesgrid_common.service_context import outgoing_metadata
from salesgrid_pipeline.domain.leads import CustomerDraft

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CustomerRef:
    customer_id: str
    legal_name: str
    owner_id: str


class CustomersClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = cpb_grpc.CustomersStub(channel)

    async def visible_customer(self, principal: Principal, customer_id: str) -> CustomerRef:
        """The customer, if it exists and the caller may read it; else an error naming customer_id
        (not found and out of scope read the same, so existence does not leak)."""
        try:
            reply = await self.stub.GetCustomer(
                cpb.GetCustomerRequest(id=customer_id),
                timeout=TIMEOUT_SECONDS,
                metadata=outgoing_metadata(principal.token, principal.client_ip),
            )
        except grpc.aio.AioRpcError as error:
            raise call_error(
                "customers",
                error,
                "customer_id",
                hidden=(f"customer {customer_id!r} does not exist or is outside your scope"),
            ) from None
        return CustomerRef(reply.id, reply.legal_name, reply.owner_id)

    async def create_customer(self, principal: Principal, draft: CustomerDraft, field: str) -> CustomerRef:
        """Create the customer for a converted lead; a blocking duplicate names the existing
        record and its owner (the customers service's message) on `field`."""
        request = cpb.CreateCustomerRequest(
            legal_name=draft.name, industry=draft.industry, source=draft.source, owner_id=draft.owner_id
        )
        try:
            reply = await self.stub.CreateCustomer(
                request, timeout=TIMEOUT_SECONDS, metadata=outgoing_metadata(principal.token, principal.client_ip)
            )
        except grpc.aio.AioRpcError as error:
            if error.code() in _CREATE_PASSED:
                raise call_error("customers", error, field, passed=_CREATE_PASSED, prefer_details=True) from None
            raise call_error("customers", error, "customer_id") from None
        customer = reply.customer
        return CustomerRef(customer.id, customer.legal_name, customer.owner_id)


_CREATE_PASSED: dict[grpc.StatusCode, tuple[type[DomainError], str]] = {
    grpc.StatusCode.ALREADY_EXISTS: (AlreadyExists, "the customer already exists"),
    grpc.StatusCode.INVALID_ARGUMENT: (ValidationFailed, "rejected by the customers service"),
    grpc.StatusCode.PERMISSION_DENIED: (PermissionDenied, "you may not create customers"),
}
