"""Searching customers by name through gRPC on SQLite and PostgreSQL: contains and prefix
matches in scope, renames, and the migration that re-keys existing customers' names."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from sqlalchemy import column, insert, select, table

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.db import create_engine, session_factory
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.migrations import upgrade
from salesgrid_dev.testing import field_violations, principal, run_service
from salesgrid_customers import models, usecases
from salesgrid_customers.app import DEFINITION, MIGRATIONS

from customers_fixtures import REP_PERMS, START, rpc_error, seed_directory, token


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
