"""Merging customers through gRPC on SQLite and PostgreSQL: the survivor keeps the contacts,
and deactivation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import grpc
from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState, ContractsReceiptRecorded
from salesgrid.events.v1.customers_events_pb2 import CustomerMerged
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.ids import new_id
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import field_violations, run_service
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_customers.handlers import activities_subscription, contracts_subscription, pipeline_subscription

from customers_fixtures import START, deliver, event_subjects, follow_up, rpc_error, seed_directory, token


async def test_merge_keeps_contacts_and_deactivate(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        survivor = (
            await api.CreateCustomer(
                pb.CreateCustomerRequest(legal_name="Northwind Traders Ltd", tags=["retail"]), metadata=a
            )
        ).customer
        duplicate = (
            await api.CreateCustomer(
                pb.CreateCustomerRequest(
                    legal_name="Northwind Trading Ltd", tier="key", industry="ICT", tags=["export"]
                ),
                metadata=b,
            )
        ).customer
        kept = await api.AddContact(
            pb.AddContactRequest(customer_id=survivor.id, full_name="Ann", primary=True), metadata=a
        )
        moved = await api.AddContact(
            pb.AddContactRequest(customer_id=duplicate.id, full_name="Bob", primary=True), metadata=b
        )

        def merge(survivor_id: str, ids: list[str], version: int = 0, who=mgr):  # type: ignore[no-untyped-def]
            return api.MergeCustomers(
                pb.MergeCustomersRequest(survivor_id=survivor_id, duplicate_ids=ids, expected_version=version),
                metadata=who,
            )

        # Bad input and refusals write nothing.
        for survivor_id, ids, field in (
            (survivor.id, [], "duplicate_ids"),
            ("", [duplicate.id], "survivor_id"),
            (survivor.id, [survivor.id], "duplicate_ids"),
        ):
            bad = await rpc_error(merge(survivor_id, ids))
            assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == [field]
        stale = await rpc_error(merge(survivor.id, [duplicate.id], version=7))
        assert stale.code() == grpc.StatusCode.ABORTED and field_violations(stale) == ["version"]
        denied = await rpc_error(merge(survivor.id, [duplicate.id], who=a))  # rep-b's record is not rep-a's
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=duplicate.id), metadata=b)).version == 1
        assert "salesgrid.customers.customer.merged" not in await event_subjects(running)

        await deliver(
            running,
            activities_subscription(),
            "salesgrid.activities.follow_up.logged",
            follow_up(duplicate.id, "rep-b", START),
            START,
        )
        await deliver(
            running,
            pipeline_subscription(),
            "salesgrid.pipeline.opportunity.created",
            PipelineOpportunityState(
                opportunity_id=new_id(),
                customer_id=duplicate.id,
                owner_id="rep-b",
                status="open",
                amount="10",
                currency="CNY",
            ),
            START,
        )
        reply = await merge(survivor.id, [duplicate.id], version=1)
        merged = reply.customer
        assert (
            merged.id,
            merged.legal_name,
            merged.owner_id,
            merged.tier,
            merged.industry,
            list(merged.tags),
            merged.version,
        ) == (survivor.id, "Northwind Traders Ltd", "rep-a", "key", "ICT", ["retail", "export"], 2)
        assert list(reply.merged_ids) == [duplicate.id]
        contacts = await api.ListContacts(pb.ListContactsRequest(customer_id=survivor.id), metadata=a)
        assert [(c.id, c.primary) for c in contacts.contacts] == [(kept.id, True), (moved.id, False)]
        # The duplicate is gone; its owner keeps sight of the history as a collaborator.
        gone = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=duplicate.id), metadata=mgr))
        assert gone.code() == grpc.StatusCode.NOT_FOUND and f"merged into customer {survivor.id}" in gone.details()
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=survivor.id), metadata=b)).id == survivor.id
        shares = await api.ListShares(pb.ListSharesRequest(customer_id=survivor.id), metadata=a)
        assert [(s.user_id, s.role) for s in shares.shares] == [("rep-b", "collaborator")]
        # The duplicate's follow-ups and opportunities now count for the survivor.
        view = await api.GetOverview(pb.GetCustomerRequest(id=survivor.id), metadata=a)
        assert (view.follow_up_count, view.open_opportunities) == (1, 1)
        # Later events that still name the merged id (sent before their producer saw the merge)
        # count for the survivor too.
        await deliver(
            running,
            activities_subscription(),
            "salesgrid.activities.follow_up.logged",
            follow_up(duplicate.id, "rep-b", START + timedelta(days=1)),
            START,
        )
        await deliver(
            running,
            pipeline_subscription(),
            "salesgrid.pipeline.opportunity.created",
            PipelineOpportunityState(
                opportunity_id=new_id(),
                customer_id=duplicate.id,
                owner_id="rep-b",
                status="open",
                amount="5",
                currency="CNY",
            ),
            START,
        )
        await deliver(
            running,
            contracts_subscription(),
            "salesgrid.contracts.contract.signed",
            ContractsContractState(
                contract_id="k-late", customer_id=duplicate.id, status="signed", total="900", currency="CNY"
            ),
            START,
        )
        await deliver(
            running,
            contracts_subscription(),
            "salesgrid.contracts.receipt.recorded",
            ContractsReceiptRecorded(
                receipt_id="r-late", contract_id="k-late", customer_id=duplicate.id, amount="400", currency="CNY"
            ),
            START,
        )
        view = await api.GetOverview(pb.GetCustomerRequest(id=survivor.id), metadata=a)
        assert (view.follow_up_count, view.open_opportunities, view.contracts) == (2, 2, 1)
        assert [(Decimal(m.amount), m.currency) for m in view.collected] == [(Decimal(400), "CNY")]
        # The freed name can be used again; the duplicate's name keys are gone with it.
        report = await api.CheckDuplicates(pb.CheckDuplicatesRequest(legal_name="Northwind Trading Ltd"), metadata=a)
        assert duplicate.id not in {m.customer_id for m in (*report.blocking, *report.warnings)}

        stale = await rpc_error(
            api.DeactivateCustomer(pb.DeactivateCustomerRequest(id=survivor.id, expected_version=1), metadata=a)
        )
        assert stale.code() == grpc.StatusCode.ABORTED
        denied = await rpc_error(
            api.DeactivateCustomer(pb.DeactivateCustomerRequest(id=survivor.id, expected_version=2), metadata=b)
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        await api.DeactivateCustomer(pb.DeactivateCustomerRequest(id=survivor.id, expected_version=2), metadata=a)
        gone = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=survivor.id), metadata=a))
        assert gone.code() == grpc.StatusCode.NOT_FOUND

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.merged") == 1
        assert subjects.count("salesgrid.customers.customer.deactivated") == 1
        async with running.app.ctx.sessions() as session:
            envelope = await session.scalar(
                select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.customers.customer.merged")
            )
        event = unpack(parse_envelope(envelope), CustomerMerged)
        assert (event.survivor_id, list(event.merged_ids)) == (survivor.id, [duplicate.id])
