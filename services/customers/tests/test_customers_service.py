"""The customers service through gRPC on SQLite and PostgreSQL: create with duplicate check,
read and list in scope, optimistic update, contacts, sharing, the public pool and its events."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from openpyxl import Workbook
from google.protobuf.message import Message
from sqlalchemy import column, func, insert, select, table

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesFollowUpLogged
from salesgrid.events.v1.contracts_events_pb2 import (
    ContractsContractState,
    ContractsReceiptRecorded,
    ContractsRefundRecorded,
)
from salesgrid.events.v1.customers_events_pb2 import CustomerMerged, CustomerReleasedToPool
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.migrations import upgrade
from salesgrid_common.events.consumer import Subscription, apply_once
from salesgrid_common.events.envelope import EventMeta, build_envelope, parse_envelope, unpack
from salesgrid_common.ids import new_id
from salesgrid_common.imports import files as importfiles
from salesgrid_common.imports import model as import_model
from salesgrid_common.protos import from_timestamp, to_timestamp
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica
from salesgrid_dev.testing import RunningService, field_violations, principal, run_service
from salesgrid_customers import models, usecases
from salesgrid_customers.domain import imports
from salesgrid_customers.settings import CustomersSettings
from salesgrid_customers.app import DEFINITION, MIGRATIONS, usecases_for
from salesgrid_customers.handlers import activities_subscription, contracts_subscription, pipeline_subscription

CREDIT_CODE = "91350100M000100Y43"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
REP_PERMS = {
    "customers:read": "own",
    "customers:create": "own",
    "customers:update": "own",
    "customers:share": "own",
    "customers:merge": "own",
    "customers:delete": "own",
    "pool:read": "all",
    "pool:claim": "own",
    "pool:release": "own",
}
MANAGER_PERMS = {**REP_PERMS, "customers:read": "subtree", "customers:update": "subtree", "customers:merge": "subtree"}

# user id -> (org path, unit id); rep-a and rep-b share branch b1, rep-c is in another region.
PEOPLE = {
    "rep-a": ("/c/r1/b1/t1/", "t1"),
    "rep-b": ("/c/r1/b1/t2/", "t2"),
    "rep-c": ("/c/r2/b9/t9/", "t9"),
    "mgr": ("/c/r1/b1/", "b1"),
}


def token(keys, user_id: str) -> tuple[tuple[str, str], ...]:
    path, unit = PEOPLE[user_id]
    if user_id == "mgr":
        return caller(keys, user_id, path, MANAGER_PERMS, unit_id=unit, roles=("sales_manager",))
    return caller(keys, user_id, path, REP_PERMS, unit_id=unit, roles=("rep",))


async def seed_directory(running: RunningService) -> None:
    async with replica(running) as session:
        for user_id, (path, unit) in PEOPLE.items():
            await add_user(session, user_id, path, unit_id=unit, roles="")


async def event_subjects(running: RunningService) -> list[str]:
    async with running.app.ctx.sessions() as session:
        return list((await session.scalars(select(outbox.c.subject).order_by(outbox.c.created_at))).all())


async def rpc_error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


async def test_customer_lifecycle_scope_sharing_and_events(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))

        created = await api.CreateCustomer(
            pb.CreateCustomerRequest(
                legal_name="华为技术有限公司",
                credit_code=CREDIT_CODE,
                tier="key",
                tags=["ＶＩＰ", "vip"],
                address=pb.CustomerAddress(text="深圳市龙岗区", latitude=22.65, longitude=114.06),
            ),
            metadata=a,
        )
        huawei = created.customer
        assert (huawei.owner_id, huawei.org_path, huawei.version, list(huawei.tags)) == (
            "rep-a",
            "/c/r1/b1/t1/",
            1,
            ["vip"],
        )
        assert huawei.address.latitude == pytest.approx(22.65)

        # Exact normalised name or the same credit code blocks and names the owner.
        dup = await rpc_error(
            api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术（深圳）有限公司"), metadata=b)
        )
        assert dup.code() == grpc.StatusCode.ALREADY_EXISTS and "rep-a" in dup.details()
        dup = await rpc_error(
            api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Other Co", credit_code=CREDIT_CODE), metadata=b)
        )
        assert dup.code() == grpc.StatusCode.ALREADY_EXISTS and "rep-a" in dup.details()
        # A near match is a warning; the create goes through.
        near = await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术服务有限公司"), metadata=b)
        assert [w.customer_id for w in near.warnings] == [huawei.id]
        report = await api.CheckDuplicates(pb.CheckDuplicatesRequest(legal_name="华为技术股份有限公司"), metadata=c)
        assert [(m.customer_id, m.owner_id, m.reason) for m in report.blocking] == [
            (huawei.id, "rep-a", "same_normalised_name")
        ]

        # Bad input: the field is named, nothing written.
        bad = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(legal_name="  "), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "legal_name" in field_violations(bad)
        bad = await rpc_error(
            api.CreateCustomer(
                pb.CreateCustomerRequest(legal_name="Acme", credit_code="91350100M000100Y44"), metadata=a
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "credit_code" in field_violations(bad)
        bad = await rpc_error(
            api.CreateCustomer(
                pb.CreateCustomerRequest(
                    legal_name="Acme", address=pb.CustomerAddress(text="x", latitude=91, longitude=0)
                ),
                metadata=a,
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "address.latitude" in field_violations(bad)
        bad = await rpc_error(
            api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Acme", owner_id="ghost"), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "owner_id" in field_violations(bad)

        # Scope: rep-b cannot read rep-a's customer; the branch manager can; rep-c sees nothing of b1.
        denied = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (
            await api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=mgr)
        ).legal_name == "华为技术有限公司"
        for name in ("Alpha Ltd", "Beta Inc", "Gamma LLC"):
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name=name), metadata=a)
        first = await api.ListCustomers(pb.ListCustomersRequest(page_size=3), metadata=a)
        second = await api.ListCustomers(pb.ListCustomersRequest(page_size=3, cursor=first.next_cursor), metadata=a)
        assert first.next_cursor and not second.next_cursor
        assert {x.owner_id for x in [*first.customers, *second.customers]} == {"rep-a"}
        assert len(first.customers) + len(second.customers) == 4
        managed = await api.ListCustomers(pb.ListCustomersRequest(page_size=50), metadata=mgr)
        assert len(managed.customers) == 5
        assert not (await api.ListCustomers(pb.ListCustomersRequest(), metadata=c)).customers
        found = await api.ListCustomers(pb.ListCustomersRequest(query="ＨＵＡＷＥＩ 华为"), metadata=mgr)
        assert not found.customers  # the search is on the normalised name
        found = await api.ListCustomers(pb.ListCustomersRequest(query="华为技术"), metadata=mgr)
        assert len(found.customers) == 2
        # Totals only when asked: the whole list in the caller's scope and filters, on any page and sort.
        assert not first.HasField("total")
        for request, who, expected in (
            (pb.ListCustomersRequest(page_size=3), a, 4),  # a rep counts only his own customers
            (pb.ListCustomersRequest(page_size=3, cursor=first.next_cursor), a, 4),
            (pb.ListCustomersRequest(page_size=2, sort="name"), a, 4),
            (pb.ListCustomersRequest(page_size=1), mgr, 5),
            (pb.ListCustomersRequest(), c, 0),
            (pb.ListCustomersRequest(query="华为技术", page_size=1), mgr, 2),
        ):
            request.include_total = True
            assert (await api.ListCustomers(request, metadata=who)).total == expected, request

        # Optimistic update: the version must match; a stale copy is refused.
        updated = await api.UpdateCustomer(
            pb.UpdateCustomerRequest(id=huawei.id, expected_version=1, tier="normal"), metadata=a
        )
        assert (updated.tier, updated.version, updated.legal_name) == ("normal", 2, "华为技术有限公司")
        stale = await rpc_error(
            api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=1, tier="key"), metadata=a)
        )
        assert stale.code() == grpc.StatusCode.ABORTED and "version" in field_violations(stale)
        bad = await rpc_error(
            api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=2, tier="gold"), metadata=a)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "tier" in field_violations(bad)

        # Contacts: one primary at a time; bad e-mail names the field.
        await api.AddContact(
            pb.AddContactRequest(customer_id=huawei.id, full_name="张三", phones=["138-0000-0000"], primary=True),
            metadata=a,
        )
        await api.AddContact(pb.AddContactRequest(customer_id=huawei.id, full_name="李四", primary=True), metadata=a)
        contacts = await api.ListContacts(pb.ListContactsRequest(customer_id=huawei.id), metadata=mgr)
        assert [(x.full_name, x.primary) for x in contacts.contacts] == [("张三", False), ("李四", True)]
        assert list(contacts.contacts[0].phones) == ["13800000000"]
        bad = await rpc_error(
            api.AddContact(
                pb.AddContactRequest(customer_id=huawei.id, full_name="王五", email="not-an-email"), metadata=a
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "contact.email" in field_violations(bad)

        # Sharing: a collaborator reads but cannot edit; the share shows in his list.
        shares = await api.ShareCustomer(
            pb.ShareCustomerRequest(customer_id=huawei.id, user_id="rep-b", role="collaborator"), metadata=a
        )
        assert [(s.user_id, s.role) for s in shares.shares] == [("rep-b", "collaborator")]
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b)).id == huawei.id
        listed = await api.ListCustomers(pb.ListCustomersRequest(), metadata=b)
        assert huawei.id in {x.id for x in listed.customers}
        denied = await rpc_error(
            api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=2, industry="ICT"), metadata=b)
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        denied = await rpc_error(
            api.ShareCustomer(
                pb.ShareCustomerRequest(customer_id=huawei.id, user_id="rep-c", role="co_owner"), metadata=b
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        await api.UnshareCustomer(pb.UnshareCustomerRequest(customer_id=huawei.id, user_id="rep-b"), metadata=mgr)
        denied = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.created") == 5
        assert subjects.count("salesgrid.customers.customer.updated") == 1
        assert "salesgrid.customers.customer.shared" in subjects
        assert "salesgrid.customers.customer.unshared" in subjects


async def test_name_search_contains_prefix_scope_and_renames(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b = token(test_keys, "rep-a"), token(test_keys, "rep-b")
        ids = {}
        for name in (
            "上海华为技术有限公司",
            "北京小米科技有限责任公司",
            "Acme Nova Trading Co., Ltd.",
            "HP Inc.",
            "Hewlett Packard Enterprise",
            "3M China Ltd",
            "100%_Pure Foods",
        ):
            ids[name] = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name=name), metadata=a)).customer.id

        async def search(query: str, metadata=a) -> set[str]:  # type: ignore[no-untyped-def]
            found = await api.ListCustomers(pb.ListCustomersRequest(query=query), metadata=metadata)
            return {c.legal_name for c in found.customers}

        # Both ways of reading a page: from the complete candidate set, and (when the words are
        # so common that the cap is reached) newest first through one key.
        for cap in (usecases.SEARCH_CANDIDATES, 1):
            monkeypatch.setattr(usecases.customers, "SEARCH_CANDIDATES", cap)
            # A run of a whole gram (two Chinese characters, three Latin letters or digits): contains.
            assert await search("华为") == {"上海华为技术有限公司"}
            assert await search("为技") == {"上海华为技术有限公司"}
            assert await search("华技") == set()
            assert await search("小米科技") == {"北京小米科技有限责任公司"}
            assert await search("NOVA trad") == {"Acme Nova Trading Co., Ltd."}
            assert await search("ＰＡＣＫＡＲＤ") == {"Hewlett Packard Enterprise"}
            assert await search("100% pure") == {"100%_Pure Foods"}  # punctuation is dropped as in names
            # Shorter: names that start with it.
            assert await search("HP") == {"HP Inc."}
            assert await search("h") == {"HP Inc.", "Hewlett Packard Enterprise"}
            assert await search("3M") == {"3M China Ltd"}
            assert await search("上") == {"上海华为技术有限公司"}
            assert await search("海") == set()
        # Only inside the caller's scope.
        assert await search("华为", b) == set()
        # A rename moves the keys with the name.
        await api.UpdateCustomer(
            pb.UpdateCustomerRequest(
                id=ids["北京小米科技有限责任公司"], expected_version=1, legal_name="北京小米通讯技术有限公司"
            ),
            metadata=a,
        )
        assert await search("小米科技") == set()
        assert await search("通讯") == {"北京小米通讯技术有限公司"}
        # Bad searches name the parameter.
        for query in ("（）", "华" * 101):
            bad = await rpc_error(api.ListCustomers(pb.ListCustomersRequest(query=query), metadata=a))
            assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "query" in field_violations(bad)


async def test_name_keys_migration_rekeys_existing_customers(database_url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0fcd34b8d7c3")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            # the customers table of that revision (the model's later columns do not exist yet)
            old_customers = table(
                "customers",
                *(
                    column(name, models.Customer.__table__.c[name].type)
                    for name in (
                        "id",
                        "legal_name",
                        "normalised_name",
                        "tier",
                        "tags",
                        "owner_id",
                        "org_path",
                        "active",
                        "version",
                        "created_by",
                        "created_at",
                        "updated_at",
                    )
                ),
            )
            await conn.execute(
                insert(old_customers).values(
                    id="c-old",
                    legal_name="杭州阿里巴巴网络技术有限公司",
                    normalised_name="杭州阿里巴巴网络技术",
                    tier="normal",
                    tags=[],
                    owner_id="rep-a",
                    org_path="/c/r1/b1/t1/",
                    active=True,
                    version=1,
                    created_by="rep-a",
                    created_at=START,
                    updated_at=START,
                )
            )
            await conn.execute(insert(models.CustomerNameKey).values(key="g:阿里", customer_id="c-old"))
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        async with engine.connect() as conn:
            keys = set((await conn.scalars(select(models.CustomerNameKey.key))).all())
        assert "s:阿里" in keys and "p:杭州" in keys and not any(key.startswith("g:") for key in keys)
        uc = usecases.CustomersUseCases(session_factory(engine), Outbox("customers"), lambda: START)
        rep = principal("rep-a", "/c/r1/b1/t1/", "t1", REP_PERMS)
        for query in ("阿里巴巴", "杭"):
            found, _ = await uc.list_customers(rep, query=query)
            assert [c.id for c in found] == ["c-old"]
        report = await uc.check_duplicates(rep, "阿里巴巴网络技术有限公司")
        assert [m.customer_id for m in report.warnings] == ["c-old"]
    finally:
        await engine.dispose()


async def test_pool_release_cooldown_and_concurrent_claims(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))
        acme = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Acme Trading Co., Ltd."), metadata=a)
        ).customer

        denied = await rpc_error(api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        released = await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id, reason="no budget"), metadata=a)
        assert (released.owner_id, released.version) == ("", 2)
        pooled = await api.ListPool(pb.ListPoolRequest(), metadata=c)
        assert [x.id for x in pooled.customers] == [acme.id]
        again = await rpc_error(api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=acme.id), metadata=mgr))
        assert again.code() == grpc.StatusCode.FAILED_PRECONDITION

        # The previous owner waits for the cool-down.
        cooling = await rpc_error(api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=a))
        assert cooling.code() == grpc.StatusCode.FAILED_PRECONDITION and "reclaim_cooldown_days" in field_violations(
            cooling
        )

        # Two reps claim at once: exactly one wins.
        results = await asyncio.gather(
            api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=b),
            api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=c),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, pb.Customer)]
        losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(winners) == 1 and len(losers) == 1
        assert losers[0].code() == grpc.StatusCode.FAILED_PRECONDITION
        owner = winners[0].owner_id
        assert owner in ("rep-b", "rep-c") and winners[0].org_path == PEOPLE[owner][0] and winners[0].version == 3
        assert not (await api.ListPool(pb.ListPoolRequest(), metadata=c)).customers

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.released_to_pool") == 1
        assert subjects.count("salesgrid.customers.customer.claimed") == 1


async def deliver(
    running: RunningService,
    sub: Subscription,
    event_type: str,
    payload: Message,
    at: datetime,
    envelope: Envelope | None = None,
) -> bool:
    """Apply one event as the consumer would (exactly once, through the inbox); pass `envelope`
    to deliver the same event again."""
    envelope = envelope or build_envelope(event_type, sub.producer, payload, EventMeta(aggregate_id=new_id()), at)
    route = sub.route(event_type)
    assert route is not None and route[0] is not None
    return await apply_once(running.app.ctx.sessions, sub.name, envelope, route[1], unpack(envelope, route[0]))


def follow_up(customer_id: str, owner_id: str, at: datetime) -> ActivitiesFollowUpLogged:
    return ActivitiesFollowUpLogged(
        follow_up_id=new_id(), owner_id=owner_id, customer_id=customer_id, kind="call", occurred_at=to_timestamp(at)
    )


async def arbitrations(running: RunningService) -> int:
    async with running.app.ctx.sessions() as session:
        return await session.scalar(select(func.count()).select_from(models.Arbitration)) or 0


async def test_ownership_arbitration_from_consumed_facts(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        ali_a = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="阿里巴巴网络技术有限公司"), metadata=a)
        ).customer
        ali_b = await api.CreateCustomer(
            pb.CreateCustomerRequest(legal_name="阿里巴巴网络技术服务有限公司"), metadata=b
        )
        assert [w.customer_id for w in ali_b.warnings] == [ali_a.id]
        ali_b = ali_b.customer
        hw_a = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=a)).customer
        hw_b = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术服务有限公司"), metadata=b)
        ).customer

        activities, pipeline = activities_subscription(), pipeline_subscription()
        logged = "salesgrid.activities.follow_up.logged"
        # rep-b followed Alibaba up first; rep-a's later follow-ups and a lead's follow-up do not change that.
        first = build_envelope(
            logged,
            "activities",
            follow_up(ali_b.id, "rep-b", START + timedelta(days=1)),
            EventMeta(aggregate_id=new_id()),
            START,
        )
        for _ in range(2):  # a redelivery is absorbed
            await deliver(running, activities, logged, ActivitiesFollowUpLogged(), START, first)
        await deliver(running, activities, logged, follow_up(ali_a.id, "rep-a", START + timedelta(days=2)), START)
        await deliver(running, activities, logged, follow_up("", "rep-a", START), START)
        # Nobody followed Huawei up; rep-b opened the first opportunity.
        for customer_id, owner, days in ((hw_a.id, "rep-a", 5), (hw_b.id, "rep-b", 3)):
            await deliver(
                running,
                pipeline,
                "salesgrid.pipeline.opportunity.created",
                PipelineOpportunityState(
                    opportunity_id=new_id(), customer_id=customer_id, owner_id=owner, status="open"
                ),
                START + timedelta(days=days),
            )

        # Bad input names the field and records nothing.
        bad = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id], registered_name="阿里巴巴"), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["customer_ids"]
        bad = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name=" "), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == ["registered_name"]
        unrelated = await rpc_error(
            api.Arbitrate(
                pb.ArbitrateRequest(customer_ids=[ali_a.id, hw_b.id], registered_name="华为技术有限公司"), metadata=mgr
            )
        )
        assert unrelated.code() == grpc.StatusCode.FAILED_PRECONDITION and "customer_ids" in field_violations(unrelated)
        same_rep = await rpc_error(
            api.Arbitrate(pb.ArbitrateRequest(customer_ids=[ali_a.id, hw_a.id], registered_name="华为"), metadata=mgr)
        )
        assert same_rep.code() == grpc.StatusCode.FAILED_PRECONDITION
        # A rep cannot arbitrate another rep's record.
        denied = await rpc_error(
            api.Arbitrate(
                pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴"), metadata=a
            )
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert await arbitrations(running) == 0
        assert "salesgrid.customers.customer.arbitration_decided" not in await event_subjects(running)

        # Rule 1: the record carrying the exact registered name wins, whatever the follow-ups say.
        by_name = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴网络技术有限公司"),
            metadata=mgr,
        )
        assert (by_name.winner_rep_id, by_name.winner_customer_id, by_name.rule) == (
            "rep-a",
            ali_a.id,
            "registered_name",
        )
        # Rule 2: neither recorded the registered name: the first follow-up wins.
        by_follow_up = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[ali_a.id, ali_b.id], registered_name="阿里巴巴(中国)网络技术有限公司"),
            metadata=mgr,
        )
        assert (by_follow_up.winner_rep_id, by_follow_up.rule) == ("rep-b", "first_follow_up")
        assert dict(by_follow_up.steps[1].compared) == {
            "rep-a": (START + timedelta(days=2)).isoformat(),
            "rep-b": (START + timedelta(days=1)).isoformat(),
        }
        # Rule 3: no follow-ups on either side: the first opportunity wins.
        by_opportunity = await api.Arbitrate(
            pb.ArbitrateRequest(customer_ids=[hw_a.id, hw_b.id], registered_name="华为投资控股有限公司"), metadata=mgr
        )
        assert (by_opportunity.winner_rep_id, by_opportunity.rule) == ("rep-b", "first_opportunity")
        assert "first opportunity" in by_opportunity.reason

        assert await arbitrations(running) == 3
        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.arbitration_decided") == 3
        async with running.app.ctx.sessions() as session:
            record = await session.get(models.Arbitration, by_follow_up.id)
            assert record is not None and (record.rep_ids, record.decided_by) == (["rep-a", "rep-b"], "mgr")
            facts = await session.get(models.RepActivity, (ali_b.id, "rep-b"))
            assert facts is not None and facts.follow_up_count == 1


async def test_pool_scheduler_warns_then_returns_once(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")
        uc = usecases_for(running.app.ctx)
        idle = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Idle Widgets Ltd"), metadata=a)).customer
        busy = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Busy Gears Inc"), metadata=a)).customer
        await api.ShareCustomer(
            pb.ShareCustomerRequest(customer_id=idle.id, user_id="rep-b", role="co_owner"), metadata=a
        )
        sub = activities_subscription()
        logged = "salesgrid.activities.follow_up.logged"
        # Default policy: back to the pool 30 days without the owner's follow-up, warned 3 days ahead.
        # Someone else's follow-up does not keep the owner's customer.
        await deliver(running, sub, logged, follow_up(idle.id, "rep-b", START + timedelta(days=20)), START)
        await deliver(running, sub, logged, follow_up(idle.id, "rep-a", START + timedelta(days=5)), START)

        clock.advance(timedelta(days=31))
        await deliver(running, sub, logged, follow_up(busy.id, "rep-a", clock()), clock())
        clock.advance(timedelta(days=1))  # day 32: idle is due at day 35, busy at day 61
        assert await uc.pool_scan() == (0, 1)
        assert await uc.pool_scan() == (0, 0)  # the same warning is sent once
        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.pool_return_warning") == 1

        clock.advance(timedelta(days=3))  # day 35: due; two replicas scan at once
        results = await asyncio.gather(uc.pool_scan(), uc.pool_scan(), uc.pool_scan())
        assert sum(r[0] for r in results) == 1
        returned = await api.GetCustomer(pb.GetCustomerRequest(id=busy.id), metadata=a)
        assert returned.owner_id == "rep-a"
        pooled = await api.ListPool(pb.ListPoolRequest(), metadata=a)
        assert [x.id for x in pooled.customers] == [idle.id]
        assert await uc.pool_scan() == (0, 0)
        async with running.app.ctx.sessions() as session:
            row = await session.get(models.Customer, idle.id)
            assert row is not None and (row.previous_owner_id, row.released_at) == ("rep-a", clock())
            assert await session.scalar(select(func.count()).select_from(models.Share)) == 0
            envelopes = (
                await session.scalars(
                    select(outbox.c.envelope).where(outbox.c.subject == "salesgrid.customers.customer.released_to_pool")
                )
            ).all()
        assert len(envelopes) == 1
        released = unpack(parse_envelope(envelopes[0]), CustomerReleasedToPool)
        assert (released.customer_id, released.previous_owner_id, released.reason) == (
            idle.id,
            "rep-a",
            "auto:no_follow_up",
        )
        async with running.app.ctx.sessions() as session:  # the scheduler acts as the service's automation
            scheduled = (
                await session.scalars(
                    select(outbox.c.envelope).where(
                        outbox.c.subject.in_(
                            (
                                "salesgrid.customers.customer.released_to_pool",
                                "salesgrid.customers.customer.pool_return_warning",
                                "salesgrid.customers.customer.owner_changed",
                            )
                        )
                    )
                )
            ).all()
        assert {parse_envelope(e).actor_id for e in scheduled} == {system_actor("customers")}


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


async def test_concurrent_creates_of_one_name_and_list_filters(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))

        # Both duplicate checks may pass; the unique index lets exactly one create commit.
        results = await asyncio.gather(
            *(
                api.CreateCustomer(pb.CreateCustomerRequest(legal_name=name), metadata=who)
                for name, who in (("Fabrikam Ltd", a), ("FABRIKAM Inc.", b), ("Fabrikam LLC", c))
            ),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, pb.CreateCustomerResponse)]
        losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(winners) == 1 and {e.code() for e in losers} == {grpc.StatusCode.ALREADY_EXISTS}
        # A merged-away or deactivated name is free again.
        fabrikam = winners[0].customer
        owner = token(test_keys, fabrikam.owner_id)
        await api.DeactivateCustomer(pb.DeactivateCustomerRequest(id=fabrikam.id, expected_version=1), metadata=owner)
        assert (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Fabrikam Ltd"), metadata=a)).customer.id

        clock.advance(timedelta(days=1))
        await api.CreateCustomer(
            pb.CreateCustomerRequest(legal_name="Tailspin Toys", tags=["零售", "VIP"], industry="retail"), metadata=a
        )
        await api.CreateCustomer(
            pb.CreateCustomerRequest(legal_name="Wingtip Toys", tags=["vip"], industry="ICT"), metadata=b
        )
        await api.CreateCustomer(
            pb.CreateCustomerRequest(legal_name="Lucerne Publishing", tags=["零售"], industry="retail"), metadata=c
        )

        async def names(**filters: Any) -> set[str]:
            reply = await api.ListCustomers(pb.ListCustomersRequest(**filters), metadata=mgr)
            return {x.legal_name for x in reply.customers}

        # The manager's scope (branch b1) never shows rep-c's customers, whatever the filter.
        assert await names(tag="ＶＩＰ") == {"Tailspin Toys", "Wingtip Toys"}
        assert await names(tag="零售") == {"Tailspin Toys"}
        assert await names(tag="vi") == set()  # whole tags only
        assert await names(industry="retail") == {"Tailspin Toys"}
        assert await names(unit_id="t2") == {"Wingtip Toys"}
        assert await names(unit_id="b1", updated_since=to_timestamp(START + timedelta(hours=12))) == {
            "Tailspin Toys",
            "Wingtip Toys",
        }
        assert len(await names(unit_id="b1")) == 3


HEADER = "legal_name,credit_code,tier,tags,address,latitude,longitude,owner_id\n"


def chunks(data: bytes, fmt: str = "csv", size: int = 7) -> list[pb.ImportChunk]:
    """The upload as a client stream: the format on the first chunk only, the bytes in pieces of
    `size` (7 cuts rows and, in Chinese text, UTF-8 characters in two)."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [pb.ImportChunk(format=fmt if i == 0 else "", data=piece) for i, piece in enumerate(pieces)]


def cuts_a_character(stream: list[pb.ImportChunk]) -> bool:
    try:
        for chunk in stream:
            chunk.data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


async def staged(running: RunningService) -> tuple[int, int]:
    """Import jobs and staged rows in the database."""
    async with running.app.ctx.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(models.ImportJob)),
            await session.scalar(select(func.count()).select_from(models.ImportRow)),
        )


def running_customers(database_url: str, nats_url: str, test_keys):  # type: ignore[no-untyped-def]
    # The worker is driven by the test (run_imports), not by the hourly background tick.
    return run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        settings_cls=CustomersSettings,
        import_seconds=3600,
        pool_scan_seconds=3600,
    )


async def test_import_rows_follow_the_create_rules(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        existing = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=b)
        ).customer

        # A bad header refuses the whole file: nothing staged.
        bad = await rpc_error(api.StartImport(chunks(b"name,tier\nAcme,key\n"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "header" in field_violations(bad)
        bad = await rpc_error(api.StartImport(chunks(HEADER.encode()), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "file" in field_violations(bad)
        bad = await rpc_error(api.StartImport(chunks(b"legal_name\nx\n", fmt="pdf"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "format" in field_violations(bad)
        assert await staged(running) == (0, 0)

        body = (
            "\ufeff"
            + HEADER
            + f'"Acme, Shanghai Co., Ltd.",{CREDIT_CODE},key,vip;重点,"上海市\n浦东",31.2,121.5,\n'  # 1 ok
            "Beta Inc,,gold,,,,,\n"  # 2 bad tier
            "Gamma LLC,,,,,abc,,\n"  # 3 bad latitude
            ",,,,,,,\n"  # blank: skipped
            "ＡＣＭＥ， shanghai co. ltd,,,,,,,\n"  # 4 dup of row 1
            "华为技术（深圳）有限公司,,,,,,,\n"  # 5 dup of rep-b's
            "Delta GmbH,,,,,,,rep-c\n"  # 6 outside scope
            "Epsilon Ltd,,normal,,,,,\n"
        ).encode()  # 7 ok
        stream = chunks(body)
        assert len(stream) > 1 and cuts_a_character(stream)  # the service puts the pieces back together
        job = await api.StartImport(stream, metadata=a)
        assert (job.status, job.total, job.processed, job.created_by) == ("queued", 7, 0, "rep-a")

        # Progress: one batch of two rows at a time.
        monkeypatch.setattr(usecases.imports, "IMPORT_BATCH", 2)
        uc = usecases_for(running.app.ctx)
        async with running.app.ctx.sessions() as session:
            stored = await session.get(models.ImportJob, job.id)
        assert await uc._import_batch(stored) == 1
        progress = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (progress.status, progress.processed, progress.created, progress.failed) == ("running", 2, 1, 1)
        assert await uc.run_imports() == 1
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.status, done.total, done.processed, done.created, done.failed) == ("done", 7, 7, 2, 5)
        errors = {e.row: e for e in done.errors}
        assert sorted(errors) == [2, 3, 4, 5, 6]
        assert (errors[2].column, errors[3].column, errors[6].column) == ("tier", "latitude", "owner_id")
        assert errors[4].column == "legal_name" and "row 1" in errors[4].message
        assert errors[4].existing_owner_id == "rep-a"
        assert errors[5].existing_owner_id == "rep-b" and existing.id in errors[5].message
        # The created rows are real customers with the create's normalisation, owned by the importer.
        listed = await api.ListCustomers(pb.ListCustomersRequest(), metadata=a)
        assert sorted((c.legal_name, c.owner_id, c.tier) for c in listed.customers) == [
            ("Acme, Shanghai Co., Ltd.", "rep-a", "key"),
            ("Epsilon Ltd", "rep-a", "normal"),
        ]
        acme = next(c for c in listed.customers if c.tier == "key")
        assert list(acme.tags) == ["vip", "重点"] and acme.address.text == "上海市 浦东"
        assert (await event_subjects(running)).count("salesgrid.customers.customer.created") == 3
        # Errors are paged in row order.
        first = await api.GetImport(pb.GetImportRequest(id=job.id, page_size=2), metadata=a)
        second = await api.GetImport(pb.GetImportRequest(id=job.id, page_size=2, cursor=first.next_cursor), metadata=a)
        assert [e.row for e in (*first.errors, *second.errors)] == [2, 3, 4, 5]
        # Only the importer sees his job.
        hidden = await rpc_error(api.GetImport(pb.GetImportRequest(id=job.id), metadata=mgr))
        assert hidden.code() == grpc.StatusCode.NOT_FOUND

        # XLSX works like CSV.
        book = Workbook()
        book.active.append(["Legal Name", "Owner ID"])
        book.active.append(["Zeta Corp", "mgr"])
        xlsx = io.BytesIO()
        book.save(xlsx)
        job = await api.StartImport(chunks(xlsx.getvalue(), fmt="xlsx", size=4096), metadata=mgr)
        await uc.run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=mgr)
        assert (done.created, done.failed) == (1, 0)


async def test_import_upload_refusals_write_nothing(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")

        async def refused(stream: list[pb.ImportChunk], field: str, text: str) -> None:
            bad = await rpc_error(api.StartImport(stream, metadata=a))
            assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == [field], bad
            assert text in bad.details()
            assert await staged(running) == (0, 0)

        # The format is read from the first chunk only.
        await refused(
            [pb.ImportChunk(data=b"legal_name\n"), pb.ImportChunk(format="csv", data=b"Acme Ltd\n")],
            "format",
            "format must be one of csv, xlsx",
        )
        await refused([], "format", "format must be one of csv, xlsx")
        await refused(chunks(b""), "file", "the file is empty")
        await refused([pb.ImportChunk(format="csv"), pb.ImportChunk()], "file", "the file is empty")
        # Over the size cap: refused as the chunks arrive.
        monkeypatch.setattr(imports, "MAX_FILE_BYTES", 1 << 20)
        big = ("legal_name\n" + "".join(f"Company {i:07d} Ltd\n" for i in range(60_000))).encode()
        assert len(big) > 1 << 20
        await refused(chunks(big, size=64 << 10), "file", "the file is larger than 1 MiB")
        # Over MAX_ROWS: batches already inserted roll back with the job.
        monkeypatch.setattr(imports, "MAX_ROWS", 3)
        monkeypatch.setattr(usecases.imports, "IMPORT_STAGE_BATCH", 2)
        await refused(chunks(b"legal_name\nA Ltd\nB Ltd\nC Ltd\nD Ltd\n"), "file", "at most 3 rows per import")
        job = await api.StartImport(chunks(b"legal_name\nA Ltd\n\nB Ltd\nC Ltd\n"), metadata=a)
        assert job.total == 3 and await staged(running) == (1, 3)


async def test_import_parses_off_the_event_loop(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is read and its rows checked in worker threads, a batch per trip; the loop only
    inserts."""
    parsed_on: set[int] = set()

    def recording_rows(spool: Any, fmt: str) -> Any:
        for cells in importfiles.read_rows(spool, fmt):
            parsed_on.add(threading.get_ident())
            yield cells

    monkeypatch.setattr(usecases.imports, "read_rows", recording_rows)
    monkeypatch.setattr(usecases.imports, "IMPORT_STAGE_BATCH", 100)
    checked_on: set[int] = set()
    row_values = imports.row_values

    def recording_values(header: Any, cells: Any) -> Any:
        checked_on.add(threading.get_ident())
        return row_values(header, cells)

    monkeypatch.setattr(import_model, "row_values", recording_values)  # the shared reader calls it
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        body = ("legal_name\n" + "".join(f"Company {i} Ltd\n" for i in range(250))).encode()
        job = await api.StartImport(chunks(body, size=1000), metadata=token(test_keys, "rep-a"))
        assert job.total == 250 and await staged(running) == (1, 250)
    loop_thread = threading.get_ident()  # the service runs on the test's loop
    assert parsed_on and checked_on and loop_thread not in parsed_on | checked_on


async def test_cancelled_import_waits_for_its_parsing_thread(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The file reader is closed only once the thread parsing a batch is out of it: no error, and
    the cancelled upload leaves nothing."""
    parsing, release, closed = threading.Event(), threading.Event(), threading.Event()

    def slow_rows(spool: Any, fmt: str) -> Any:
        try:
            for number, cells in enumerate(importfiles.read_rows(spool, fmt)):
                if number == 5:
                    parsing.set()
                    release.wait(5)
                yield cells
        finally:
            closed.set()

    monkeypatch.setattr(usecases.imports, "read_rows", slow_rows)
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        body = ("legal_name\n" + "".join(f"Company {i} Ltd\n" for i in range(50))).encode()
        call = api.StartImport(chunks(body, size=100), metadata=token(test_keys, "rep-a"))
        await asyncio.to_thread(parsing.wait, 5)
        call.cancel()
        await asyncio.sleep(0.2)  # the service sees the cancellation while the thread is still parsing
        release.set()
        assert await asyncio.to_thread(closed.wait, 5)
        assert await staged(running) == (0, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_import_caps_customers_held_by_the_importer(database_url: str, nats_url: str, test_keys) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, mgr = token(test_keys, "rep-a"), token(test_keys, "mgr")
        async with replica(running) as session:
            await add_unit(session, "t1", "/c/r1/b1/t1/", parent_id="b1")
        await api.PutPoolPolicy(
            pb.PoolPolicy(
                unit_id="t1",
                max_customers_per_rep=2,
                max_claims_per_day=5,
                reclaim_cooldown_days=1,
                return_after_days_without_follow_up=10,
                warning_days_before=2,
            ),
            metadata=mgr,
        )
        before = import_counters()
        job = await api.StartImport(chunks(b"legal_name\nOne Ltd\nTwo Ltd\nThree Ltd\n"), metadata=a)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.created, [(e.row, e.column) for e in done.errors]) == (2, [(3, "owner_id")])
        # The business counters follow the committed batches; the job is counted done once.
        await usecases_for(running.app.ctx).run_imports()
        assert [after - was for after, was in zip(import_counters(), before)] == [2, 1, 1]


def import_counters() -> list[float]:
    from prometheus_client import REGISTRY

    return [
        REGISTRY.get_sample_value("salesgrid_import_rows_processed_total", {"outcome": "created"}) or 0.0,
        REGISTRY.get_sample_value("salesgrid_import_rows_processed_total", {"outcome": "failed"}) or 0.0,
        REGISTRY.get_sample_value("salesgrid_imports_completed_total") or 0.0,
    ]


async def test_pool_policies_contacts_and_owner_events(database_url: str, nats_url: str, test_keys) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        async with replica(running) as session:
            for unit, path in (("b1", "/c/r1/b1/"), ("t1", "/c/r1/b1/t1/"), ("b9", "/c/r2/b9/")):
                await add_unit(session, unit, path)

        # Only customers:update at subtree or all, inside the subtree; validated by the domain policy.
        denied = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="b1", warning_days_before=1), metadata=a))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        denied = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="b9", warning_days_before=1), metadata=mgr))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        bad = await rpc_error(
            api.PutPoolPolicy(pb.PoolPolicy(unit_id="b1", max_claims_per_day=0, warning_days_before=1), metadata=mgr)
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "max_claims_per_day" in field_violations(bad)
        bad = await rpc_error(api.PutPoolPolicy(pb.PoolPolicy(unit_id="nowhere", warning_days_before=1), metadata=mgr))
        assert bad.code() == grpc.StatusCode.NOT_FOUND
        async with running.app.ctx.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(models.PoolPolicyRow)) == 0

        # Claims follow the nearest unit's policy: b1 allows one claim a day.
        saved = await api.PutPoolPolicy(
            pb.PoolPolicy(
                unit_id="b1", max_claims_per_day=1, warning_days_before=1, return_after_days_without_follow_up=5
            ),
            metadata=mgr,
        )
        assert saved.max_claims_per_day == 1 and not saved.HasField("max_customers_per_rep")
        inherited = await api.GetPoolPolicy(pb.GetPoolPolicyRequest(unit_id="t1"), metadata=mgr)
        assert (inherited.inherited, inherited.source_unit_id, inherited.max_claims_per_day) == (True, "b1", 1)

        one = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="One Ltd"), metadata=b)).customer
        two = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Two Ltd"), metadata=b)).customer
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=one.id), metadata=b)
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=two.id), metadata=b)
        await api.ClaimCustomer(pb.ClaimCustomerRequest(id=one.id), metadata=a)
        over = await rpc_error(api.ClaimCustomer(pb.ClaimCustomerRequest(id=two.id), metadata=a))
        assert over.code() == grpc.StatusCode.FAILED_PRECONDITION
        # t1's own policy wins over b1's for rep-a.
        await api.PutPoolPolicy(pb.PoolPolicy(unit_id="t1", max_claims_per_day=5, warning_days_before=1), metadata=mgr)
        await api.ClaimCustomer(pb.ClaimCustomerRequest(id=two.id), metadata=a)

        # Reassignment through update: owner_changed; an owner outside the scope is refused.
        mine = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Mine Ltd"), metadata=mgr)).customer
        moved = await api.UpdateCustomer(
            pb.UpdateCustomerRequest(id=mine.id, expected_version=1, owner_id="rep-b"), metadata=mgr
        )
        assert (moved.owner_id, moved.org_path) == ("rep-b", "/c/r1/b1/t2/")
        refused = await rpc_error(
            api.UpdateCustomer(pb.UpdateCustomerRequest(id=mine.id, expected_version=2, owner_id="rep-c"), metadata=mgr)
        )
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED

        # Contacts: create and update, a new primary demotes the old one; bad input names the field.
        c1 = await api.AddContact(
            pb.AddContactRequest(customer_id=two.id, full_name="Li Lei", primary=True), metadata=a
        )
        c2 = await api.AddContact(pb.AddContactRequest(customer_id=two.id, full_name="Han Meimei"), metadata=a)
        updated = await api.UpdateContact(
            pb.UpdateContactRequest(
                customer_id=two.id, contact_id=c2.id, title="CFO", primary=True, set_phones=True, phones=["13800138000"]
            ),
            metadata=a,
        )
        assert (updated.title, updated.primary, updated.full_name) == ("CFO", True, "Han Meimei")
        contacts = {
            c.id: c.primary
            for c in (await api.ListContacts(pb.ListContactsRequest(customer_id=two.id), metadata=a)).contacts
        }
        assert contacts == {c1.id: False, c2.id: True}
        bad = await rpc_error(
            api.UpdateContact(
                pb.UpdateContactRequest(customer_id=two.id, contact_id=c2.id, email="not-an-email"), metadata=a
            )
        )
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "contact.email" in field_violations(bad)
        missing = await rpc_error(
            api.UpdateContact(pb.UpdateContactRequest(customer_id=two.id, contact_id="nope", title="x"), metadata=a)
        )
        assert missing.code() == grpc.StatusCode.NOT_FOUND

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.owner_changed") == 5  # 2 releases, 2 claims, 1 update
        assert subjects.count("salesgrid.customers.customer.contact_created") == 2
        assert subjects.count("salesgrid.customers.customer.contact_updated") == 1


async def test_lists_in_each_order_never_skip_or_repeat(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, settings_cls=CustomersSettings
    ) as running:
        await seed_directory(running)
        stub = pb_grpc.CustomersStub(running.channel)
        rep = token(test_keys, "rep-a")
        names = ["丙公司", "Acme Trading", "甲公司", "Zenith Ltd", "乙公司", "Borealis Inc", "丁公司"]
        created = [
            (await stub.CreateCustomer(pb.CreateCustomerRequest(legal_name=name), metadata=rep)).customer
            for name in names
        ]

        async def walk(sort: str) -> list[str]:
            seen: list[str] = []
            cursor = ""
            while True:
                page = await stub.ListCustomers(
                    pb.ListCustomersRequest(page_size=3, cursor=cursor, sort=sort), metadata=rep
                )
                seen.extend(c.id for c in page.customers)
                if not page.next_cursor:
                    return seen
                cursor = page.next_cursor

        by_name = await walk("name")
        assert len(by_name) == len(set(by_name)) == len(names)
        async with running.app.ctx.sessions() as session:
            rows = {r.id: r.normalised_name for r in (await session.scalars(select(models.Customer))).all()}
        assert [rows[i] for i in by_name] == sorted(rows[i] for i in by_name)
        assert await walk("newest") == [c.id for c in reversed(created)]

        touched = created[2]
        await stub.UpdateCustomer(
            pb.UpdateCustomerRequest(id=touched.id, expected_version=touched.version, industry="制造业"), metadata=rep
        )
        recent = await walk("recently_updated")
        assert recent[0] == touched.id and sorted(recent) == sorted(c.id for c in created)

        bad_sort = await rpc_error(stub.ListCustomers(pb.ListCustomersRequest(sort="cheapest"), metadata=rep))
        assert field_violations(bad_sort) == ["sort"]
        bad_cursor = await rpc_error(
            stub.ListCustomers(pb.ListCustomersRequest(sort="name", cursor="nonsense"), metadata=rep)
        )
        assert field_violations(bad_cursor) == ["cursor"]
