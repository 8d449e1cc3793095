"""Imports create the rows the rules simply accept a batch at a time (usecases/bulk_create.py)
and leave every other row to the one-by-one path: the outcomes are those of single creates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.events.v1.customers_events_pb2 import CustomerRecordState
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import aggregate_versions, outbox
from salesgrid_customers import models
from salesgrid_customers.app import usecases_for
from salesgrid_customers.domain.search import index_keys
from salesgrid_customers.usecases import imports as import_usecases
from salesgrid_customers.usecases.bulk_create import BulkCreateMixin

from customers_fixtures import chunks, running_customers, seed_directory, token


async def created_events(running) -> list[CustomerRecordState]:  # type: ignore[no-untyped-def]
    async with running.app.ctx.sessions() as session:
        rows = (
            await session.scalars(
                select(outbox.c.envelope)
                .where(outbox.c.subject == "salesgrid.customers.customer.created")
                .order_by(outbox.c.event_id)
            )
        ).all()
    return [unpack(parse_envelope(row), CustomerRecordState) for row in rows]


async def test_one_batch_creates_the_accepted_rows_and_words_the_others_like_single_creates(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b = token(test_keys, "rep-a"), token(test_keys, "rep-b")
        await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="已有客户有限公司"), metadata=b)
        body = (
            "legal_name,tier,owner_id\n"
            "甲方科技有限公司,key,\n"  # 1 ok
            "乙方贸易有限公司,,\n"  # 2 ok
            "甲方科技（上海）有限公司,,\n"  # 3 same normalised name as row 1, same batch
            "已有客户有限公司,,\n"  # 4 taken by rep-b's customer
            "丙方,gold,\n"  # 5 bad tier
            "丁方物流有限公司,,rep-c\n"  # 6 owner outside the importer's scope
            "戊方医药有限公司,normal,\n"
        ).encode()  # 7 ok
        job = await api.StartImport(chunks(body, size=4096), metadata=a)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.status, done.created, done.failed) == ("done", 3, 4)
        errors = {e.row: e for e in done.errors}
        assert sorted(errors) == [3, 4, 5, 6]
        assert "duplicate of row 1 of this file" in errors[3].message and errors[3].existing_owner_id == "rep-a"
        assert errors[4].existing_owner_id == "rep-b" and errors[4].column == "legal_name"
        assert (errors[5].column, errors[6].column) == ("tier", "owner_id")
        # One `created` event per customer, version 1, carrying the row's state.
        events = [e for e in await created_events(running) if e.owner_id == "rep-a"]
        assert sorted((e.legal_name, e.tier, e.version) for e in events) == [
            ("乙方贸易有限公司", "potential", 1),
            ("戊方医药有限公司", "normal", 1),
            ("甲方科技有限公司", "key", 1),
        ]
        async with running.app.ctx.sessions() as session:
            versions = dict(
                (await session.execute(select(aggregate_versions.c.aggregate_id, aggregate_versions.c.version))).all()
            )
            keys = await session.scalar(
                select(func.count())
                .select_from(models.CustomerNameKey)
                .where(models.CustomerNameKey.customer_id.in_([e.customer_id for e in events]))
            )
        assert all(versions[e.customer_id] == 1 for e in events) and keys and keys > 3 * 3
        # The created customers are found by the name search like single creates.
        found = await api.ListCustomers(pb.ListCustomersRequest(query="戊方医药"), metadata=a)
        assert [c.legal_name for c in found.customers] == ["戊方医药有限公司"]


async def test_a_name_taken_between_the_check_and_the_insert_sends_the_batch_one_by_one(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b = token(test_keys, "rep-a"), token(test_keys, "rep-b")
        await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="抢先一步有限公司"), metadata=b)

        async def missed(self, session, candidates):  # type: ignore[no-untyped-def]
            return candidates  # as if the concurrent create had committed after the check

        monkeypatch.setattr(BulkCreateMixin, "_without_taken_names", missed)
        job = await api.StartImport(
            chunks("legal_name\n第一有限公司\n抢先一步有限公司\n第三有限公司\n".encode(), size=4096), metadata=a
        )
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.created, [(e.row, e.existing_owner_id) for e in done.errors]) == (2, [(2, "rep-b")])
        names = sorted(e.legal_name for e in await created_events(running) if e.owner_id == "rep-a")
        assert names == ["第一有限公司", "第三有限公司"]  # the rolled-back bulk insert left no event behind


async def test_batch_boundaries_keep_the_duplicate_rule_and_the_name_index(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Batches of three rows: a name or credit code taken by a row of an earlier batch (committed)
    is refused like one taken in the same batch, an error row in the middle of a batch leaves its
    neighbours created, and every created customer carries exactly its name's search keys (one
    statement per batch writes them)."""
    monkeypatch.setattr(import_usecases, "IMPORT_BATCH", 3)
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")
        body = (
            "legal_name,credit_code,tier\n"
            "北京边界一号科技有限公司,914403001922038216,\n"  # 1 batch 1
            "边界二号贸易有限公司,,gold\n"  # 2 batch 1, bad tier in the middle
            "HP Inc.,,\n"  # 3 batch 1 (a Latin run shorter than a gram)
            "北京边界一号科技股份有限公司,,\n"  # 4 batch 2: row 1's normalised name
            "边界四号有限公司,914403001922038216,\n"  # 5 batch 2: row 1's credit code
            "边界五号物流有限公司,,\n"  # 6 batch 2
            "边界五号物流有限公司,,\n"  # 7 batch 3: row 6's name
        ).encode()
        job = await api.StartImport(chunks(body, size=4096), metadata=a)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.status, done.created, done.failed) == ("done", 3, 4)
        errors = {e.row: e for e in done.errors}
        assert sorted(errors) == [2, 4, 5, 7]
        assert errors[2].column == "tier"
        assert "duplicate of row 1 of this file" in errors[4].message and errors[4].existing_owner_id == "rep-a"
        assert errors[5].column == "credit_code" and errors[5].existing_owner_id == "rep-a"
        assert "duplicate of row 6 of this file" in errors[7].message
        events = [e for e in await created_events(running) if e.owner_id == "rep-a"]
        assert sorted(e.legal_name for e in events) == ["HP Inc.", "北京边界一号科技有限公司", "边界五号物流有限公司"]
        async with running.app.ctx.sessions() as session:
            stored = (await session.execute(select(models.Customer.id, models.Customer.normalised_name))).all()
            keys = (await session.execute(select(models.CustomerNameKey.customer_id, models.CustomerNameKey.key))).all()
        for customer_id, normalised in stored:
            assert {key for owner, key in keys if owner == customer_id} == index_keys(normalised)


async def test_a_customer_written_in_bulk_reads_back_like_a_single_create(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    """Every column a bulk-written customer stores (COPY on PostgreSQL) reads back as the same
    fields a single create stores: tags and coordinates, optional texts, tier, timestamps."""
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")
        single = (
            await api.CreateCustomer(
                pb.CreateCustomerRequest(
                    legal_name="单建对照有限公司",
                    industry="制造业",
                    address=pb.CustomerAddress(text="上海市浦东新区1号", latitude=31.2304, longitude=121.4737),
                    tier="key",
                    tags=["vip", "华东"],
                    source="展会",
                ),
                metadata=a,
            )
        ).customer
        body = "legal_name,industry,address,latitude,longitude,tier,tags,source\n批量对照有限公司,制造业,上海市浦东新区1号,31.2304,121.4737,key,vip;华东,展会\n"
        job = await api.StartImport(chunks(body.encode(), size=4096), metadata=a)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.created, done.failed) == (1, 0)
        (event,) = [e for e in await created_events(running) if e.legal_name == "批量对照有限公司"]
        imported = await api.GetCustomer(pb.GetCustomerRequest(id=event.customer_id), metadata=a)
        assert imported.created_at == imported.updated_at and imported.created_at.ToDatetime().year >= 2026
        single = await api.GetCustomer(pb.GetCustomerRequest(id=single.id), metadata=a)
        for read in (single, imported):
            read.ClearField("id")
            read.ClearField("legal_name")
            read.ClearField("created_at")
            read.ClearField("updated_at")
        assert imported == single
