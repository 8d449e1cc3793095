"""Contracts accept every currency of the platform's one ISO-4217 table, ZWG included (a quote
pipeline priced in ZWG must be able to become a contract), at that currency's minor units, and
refuse a code outside it, naming the field."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import TestKeys, bearer, field_violations, principal, run_service

from salesgrid_dev.directory_seed import add_user, caller, replica

TEAM = "/c/r1/b1/t1/"
REP = {"contracts:read": "own", "contracts:create": "own", "products:read": "all"}


async def test_contracts_in_zwg_and_jpy_but_not_an_unknown_code(
    database_url: str, nats_url: str, test_keys: TestKeys
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            await add_user(session, "rep-1", TEAM, unit_id=TEAM, zone="Africa/Harare", at=clock())
        rep = caller(test_keys, "rep-1", TEAM, REP, unit_id=TEAM)
        admin = bearer(test_keys.token(principal("admin", permissions={"products:create": "all"})))
        api = pb_grpc.ContractsStub(running.channel)
        product = await api.CreateProduct(
            pb.CreateProductRequest(
                sku="GOLD",
                name="Service",
                prices=[
                    pb.ProductPrice(currency="ZWG", amount="1250.50"),
                    pb.ProductPrice(currency="JPY", amount="9800"),
                ],
            ),
            metadata=admin,
        )

        def request(currency: str) -> pb.CreateContractRequest:
            return pb.CreateContractRequest(
                customer_id="cust-1",
                branch_code="HR",
                currency=currency,
                start_date="2026-04-01",
                end_date="2027-03-31",
                lines=[pb.ContractLineInput(product_id=product.id, quantity="2")],
            )

        zwg = await api.CreateContract(request("ZWG"), metadata=rep)
        assert (zwg.currency, zwg.total) == ("ZWG", "2501.00")
        jpy = await api.CreateContract(request("JPY"), metadata=rep)
        assert (jpy.currency, jpy.total) == ("JPY", "19600")  # no minor units
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await api.CreateContract(request("ABC"), metadata=rep)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(refused.value) == ["currency"]
