"""A contract drafted from a won opportunity, against the real pipeline service (itself next to
the real customers service), each on its own database of the same kind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.pipeline.v1 import pipeline_pb2, pipeline_pb2_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_contracts.settings import ContractsSettings
from salesgrid_customers.app import DEFINITION as CUSTOMERS
from salesgrid_customers.app import MIGRATIONS as CUSTOMERS_MIGRATIONS
from salesgrid_dev.api import document_fact, gate_facts
from salesgrid_dev.testing import TestKeys, bearer, principal, run_service
from salesgrid_pipeline.app import DEFINITION as PIPELINE
from salesgrid_pipeline.app import MIGRATIONS as PIPELINE_MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings

from contracts_fixtures import REP_PERMS

from contracts_service_fixtures import TEAM, failure


async def peer_database(database_url: str, name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database of the same kind as contracts' own for another service run next to it."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / name}.db"
    return request.getfixturevalue("postgres").create_database(f"{name}_" + database_url.rsplit("/", 1)[-1][-20:])


PIPELINE_PERMS = {
    "opportunities:read": "own",
    "opportunities:create": "own",
    "opportunities:update": "own",
    "customers:read": "own",
    "customers:create": "own",
    "stage_models:read": "all",
}


async def won_opportunity(
    pipeline: pipeline_pb2_grpc.PipelineStub, metadata: object, customer_id: str, product_id: str
) -> pipeline_pb2.Opportunity:
    """An opportunity of the caller's advanced through every gate of the default model and won
    (the gate facts of the pipeline's own end-to-end flow)."""
    opportunity = await pipeline.CreateOpportunity(
        pipeline_pb2.CreateOpportunityRequest(
            customer_id=customer_id,
            name="Big deal",
            expected_close_date="2026-09-30",
            amount=pipeline_pb2.PipelineMoney(amount="88000.50", currency="CNY"),
            products=[pipeline_pb2.OpportunityProduct(product_id=product_id)],
        ),
        metadata=metadata,
    )
    for _stage, facts in gate_facts():
        await pipeline.AdvanceOpportunity(
            pipeline_pb2.AdvanceOpportunityRequest(
                id=opportunity.id, facts=[json_format.ParseDict(f, pipeline_pb2.Fact()) for f in facts]
            ),
            metadata=metadata,
        )
    return await pipeline.WinOpportunity(
        pipeline_pb2.WinOpportunityRequest(
            id=opportunity.id,
            facts=[
                json_format.ParseDict(document_fact(code), pipeline_pb2.Fact())
                for code in ("award_notice", "bid_opening_documents")
            ],
        ),
        metadata=metadata,
    )


async def test_contract_from_a_won_opportunity(
    database_url: str, nats_url: str, test_keys: TestKeys, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Against the real pipeline service (itself next to the real customers service)."""
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    customers_url = await peer_database(database_url, "customers", tmp_path, request)
    pipeline_url = await peer_database(database_url, "pipeline", tmp_path, request)
    async with (
        run_service(CUSTOMERS, CUSTOMERS_MIGRATIONS, customers_url, nats_url, test_keys) as customers,
        run_service(
            PIPELINE,
            PIPELINE_MIGRATIONS,
            pipeline_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=PipelineSettings,
            customers_addr=customers.address,
        ) as pipeline_service,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=ContractsSettings,
            pipeline_addr=pipeline_service.address,
        ) as running,
    ):
        api = pb_grpc.ContractsStub(running.channel)
        pipeline = pipeline_pb2_grpc.PipelineStub(pipeline_service.channel)
        perms = REP_PERMS | PIPELINE_PERMS
        rep = bearer(test_keys.token(principal(user_id="rep-1", org_path=TEAM, unit_id=TEAM, permissions=perms)))
        other = bearer(test_keys.token(principal(user_id="rep-2", org_path=TEAM, unit_id=TEAM, permissions=perms)))
        admin = bearer(test_keys.token(principal(user_id="admin", permissions={"products:create": "all"})))
        product = await api.CreateProduct(
            pb.CreateProductRequest(sku="OPP-1", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="10.00")]),
            metadata=admin,
        )
        customer = await cpb_grpc.CustomersStub(customers.channel).CreateCustomer(
            cpb.CreateCustomerRequest(legal_name="华东精密机械有限公司"), metadata=rep
        )
        open_one = await pipeline.CreateOpportunity(
            pipeline_pb2.CreateOpportunityRequest(
                customer_id=customer.customer.id,
                name="Maybe",
                expected_close_date="2026-09-30",
                amount=pipeline_pb2.PipelineMoney(amount="1.00", currency="CNY"),
            ),
            metadata=rep,
        )
        won = await won_opportunity(pipeline, rep, customer.customer.id, product.id)
        base = dict(branch_code="SH", start_date="2026-04-01", end_date="2027-03-31")

        contract = await api.CreateContract(pb.CreateContractRequest(opportunity_id=won.id, **base), metadata=rep)
        assert (contract.customer_id, contract.currency, contract.total, contract.opportunity_id) == (
            customer.customer.id,
            "CNY",
            "88000.50",
            won.id,
        )
        assert contract.lines[0].description == "Big deal"

        for opportunity_id, customer_id, metadata, expected in (
            (open_one.id, "", rep, (grpc.StatusCode.FAILED_PRECONDITION, ["opportunity_id"])),
            ("nope", "", rep, (grpc.StatusCode.INVALID_ARGUMENT, ["opportunity_id"])),
            (won.id, "", other, (grpc.StatusCode.INVALID_ARGUMENT, ["opportunity_id"])),  # out of his scope
            (won.id, "cust-8", rep, (grpc.StatusCode.INVALID_ARGUMENT, ["customer_id"])),
        ):
            assert (
                await failure(
                    api.CreateContract(
                        pb.CreateContractRequest(opportunity_id=opportunity_id, customer_id=customer_id, **base),
                        metadata=metadata,
                    )
                )
                == expected
            )
        listed = await api.ListContracts(pb.ListContractsRequest(), metadata=rep)
        assert [c.id for c in listed.contracts] == [contract.id]  # nothing else written
        assert (await api.ListContracts(pb.ListContractsRequest(), metadata=other)).contracts == []
