"""Listing customers through gRPC on SQLite and PostgreSQL: concurrent creates of one name and
the list's filters, and lists in each order that never skip or repeat a customer."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import grpc
from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.protos import to_timestamp
from salesgrid_dev.testing import field_violations, run_service
from salesgrid_customers import models
from salesgrid_customers.settings import CustomersSettings
from salesgrid_customers.app import DEFINITION, MIGRATIONS

from customers_fixtures import START, rpc_error, seed_directory, token


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
