"""A customer's overview kept from the events the customers service consumes, on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import grpc

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsContractState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import from_timestamp
from salesgrid_dev.testing import run_service
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_customers.handlers import activities_subscription, contracts_subscription, pipeline_subscription

from customers_fixtures import START, deliver, follow_up, rpc_error, seed_directory, token


async def test_overview_kept_from_events(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        cid = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Contoso Pharma Ltd"), metadata=a)
        ).customer.id
        await api.AddContact(pb.AddContactRequest(customer_id=cid, full_name="Dana"), metadata=a)
        empty = await api.GetOverview(pb.GetCustomerRequest(id=cid), metadata=a)
        assert (empty.follow_up_count, empty.HasField("last_follow_up_at"), list(empty.outstanding)) == (0, False, [])

        activities, pipeline, contracts = activities_subscription(), pipeline_subscription(), contracts_subscription()
        logged = "salesgrid.activities.follow_up.logged"
        await deliver(running, activities, logged, follow_up(cid, "rep-a", START + timedelta(days=3)), START)
        await deliver(running, activities, logged, follow_up(cid, "rep-b", START + timedelta(days=1)), START)
        await deliver(running, activities, logged, follow_up("other", "rep-a", START + timedelta(days=9)), START)

        def opportunity(oid: str, status: str, amount: str, customer_id: str = cid) -> PipelineOpportunityState:
            return PipelineOpportunityState(
                opportunity_id=oid,
                customer_id=customer_id,
                owner_id="rep-a",
                status=status,
                amount=amount,
                currency="CNY",
            )

        for verb, payload in (
            ("created", opportunity("o1", "open", "100.50")),
            ("created", opportunity("o2", "open", "70")),
            ("lost", opportunity("o2", "lost", "70")),
            ("created", opportunity("o3", "open", "5", customer_id="other")),
        ):
            await deliver(running, pipeline, f"salesgrid.pipeline.opportunity.{verb}", payload, START)

        def contract(contract_id: str, status: str, total: str, currency: str = "CNY") -> ContractsContractState:
            return ContractsContractState(
                contract_id=contract_id, customer_id=cid, status=status, total=total, currency=currency
            )

        for verb, payload in (
            ("created", contract("k1", "draft", "1000")),
            ("signed", contract("k1", "signed", "1000")),
            ("created", contract("k2", "draft", "500")),
            ("signed", contract("k3", "signed", "20", "USD")),
        ):
            await deliver(running, contracts, f"salesgrid.contracts.contract.{verb}", payload, START)
        await deliver(
            running,
            contracts,
            "salesgrid.contracts.receipt.recorded",
            ContractsReceiptRecorded(
                receipt_id="r1", contract_id="k1", customer_id=cid, amount="300.00", currency="CNY"
            ),
            START,
        )
        await deliver(
            running,
            contracts,
            "salesgrid.contracts.refund.recorded",
            ContractsRefundRecorded(refund_id="f1", contract_id="k1", customer_id=cid, amount="50", currency="CNY"),
            START,
        )

        view = await api.GetOverview(pb.GetCustomerRequest(id=cid), metadata=mgr)
        assert [c.full_name for c in view.contacts] == ["Dana"]
        assert view.follow_up_count == 2
        assert from_timestamp(view.last_follow_up_at) == START + timedelta(days=3)
        assert view.open_opportunities == 1 and [(m.amount, m.currency) for m in view.open_pipeline] == [
            ("100.50", "CNY")
        ]
        assert view.contracts == 3
        money = lambda items: {m.currency: Decimal(m.amount) for m in items}  # noqa: E731
        assert money(view.contracted) == {"CNY": Decimal(1000), "USD": Decimal(20)}
        assert money(view.collected) == {"CNY": Decimal(250)}
        assert money(view.outstanding) == {"CNY": Decimal(750), "USD": Decimal(20)}

        denied = await rpc_error(api.GetOverview(pb.GetCustomerRequest(id=cid), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        missing = await rpc_error(api.GetOverview(pb.GetCustomerRequest(id="nope"), metadata=a))
        assert missing.code() == grpc.StatusCode.NOT_FOUND
