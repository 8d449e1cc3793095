"""The customers and pipeline services seen from expenses: a line linked to a customer or an
opportunity must name one the claimant may read there (his token is forwarded, so each owning
service applies his data scope); an opportunity brings its customer."""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.pipeline.v1 import pipeline_pb2 as ppb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as ppb_grpc
from salesgrid_common.auth.principal import Principal
from salesgrid_common.dependencies import call_error
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.service_context import outgoing_metadata
from salesgrid_expenses.domain.claims import ExpenseLine, link_opportunity

TIMEOUT_SECONDS = 5.0


class LinksClient:
    def __init__(self, customers: grpc.aio.Channel, pipeline: grpc.aio.Channel) -> None:
        self.customers = cpb_grpc.CustomersStub(customers)
        self.pipeline = ppb_grpc.PipelineStub(pipeline)

    async def resolve(self, principal: Principal, lines: Sequence[ExpenseLine]) -> tuple[ExpenseLine, ...]:
        """The lines with their links checked, each id once; not found and out of scope read the
        same (existence does not leak). A service that cannot answer refuses the claim (fail closed)."""
        metadata = outgoing_metadata(principal.token, principal.client_ip)
        opportunities: dict[str, str] = {}  # id -> its customer
        customers: set[str] = set()
        problems: list[tuple[str, str]] = []
        resolved = []
        for line in lines:
            field = f"lines[{line.line_no - 1}]"
            try:
                if line.opportunity_id:
                    if line.opportunity_id not in opportunities:
                        reply = await self._call(
                            self.pipeline.GetOpportunity,
                            ppb.GetOpportunityRequest(id=line.opportunity_id),
                            metadata,
                            "pipeline",
                            f"{field}.opportunity_id",
                        )
                        opportunities[line.opportunity_id] = reply.customer_id
                    line = link_opportunity(line, opportunities[line.opportunity_id], field)
                if line.customer_id and line.customer_id not in customers:
                    await self._call(
                        self.customers.GetCustomer,
                        cpb.GetCustomerRequest(id=line.customer_id),
                        metadata,
                        "customers",
                        f"{field}.customer_id",
                    )
                    customers.add(line.customer_id)
            except ValidationFailed as exc:
                problems.extend(exc.violations)
            resolved.append(line)
        if problems:
            raise ValidationFailed.many(problems)
        return tuple(resolved)

    @staticmethod
    async def _call(method, request, metadata, service: str, field: str):  # type: ignore[no-untyped-def]
        try:
            return await method(request, timeout=TIMEOUT_SECONDS, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            raise call_error(
                service, error, field, hidden=f"{request.id!r} does not exist or is outside your scope"
            ) from None
