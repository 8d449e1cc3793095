"""The customers service through gRPC on SQLite and PostgreSQL: a customer's life — create with
duplicate check, read and list in scope, optimistic update, contacts, sharing and its events.
(Lists, name search, the pool, ownership, overviews, merges and imports have their own
test_customers_service_*.py; the set-up is customers_fixtures.py's.)"""

from __future__ import annotations

import grpc
import pytest

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_dev.testing import field_violations, run_service
from salesgrid_customers.app import DEFINITION, MIGRATIONS

from customers_fixtures import CREDIT_CODE, event_subjects, rpc_error, seed_directory, token


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
