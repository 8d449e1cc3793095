"""The customers service through gRPC on SQLite and PostgreSQL: create with duplicate check,
read and list in scope, optimistic update, contacts, sharing, the public pool and its events."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import insert, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.directory import directory_users
from salesgrid_common.events.tables import outbox
from salesgrid_dev.testing import RunningService, bearer, principal, run_service
from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

CREDIT_CODE = "91350100M000100Y43"
REP_PERMS = {"customers:read": "own", "customers:create": "own", "customers:update": "own",
             "customers:share": "own", "pool:read": "all", "pool:claim": "own", "pool:release": "own"}
MANAGER_PERMS = {**REP_PERMS, "customers:read": "subtree", "customers:update": "subtree"}

# user id -> (org path, unit id); rep-a and rep-b share branch b1, rep-c is in another region.
PEOPLE = {"rep-a": ("/c/r1/b1/t1/", "t1"), "rep-b": ("/c/r1/b1/t2/", "t2"), "rep-c": ("/c/r2/b9/t9/", "t9"),
          "mgr": ("/c/r1/b1/", "b1")}


def token(keys, user_id: str) -> tuple[tuple[str, str], ...]:
    path, unit = PEOPLE[user_id]
    manager = user_id == "mgr"
    return bearer(keys.token(principal(user_id=user_id, org_path=path, unit_id=unit,
                                       permissions=MANAGER_PERMS if manager else REP_PERMS,
                                       roles=("sales_manager",) if manager else ("rep",))))


async def seed_directory(running: RunningService) -> None:
    async with running.app.ctx.sessions() as session, session.begin():
        for user_id, (path, unit) in PEOPLE.items():
            await session.execute(insert(directory_users).values(
                user_id=user_id, login=user_id, display_name=user_id, unit_id=unit, org_path=path, manager_id=None,
                roles="", active=True, time_zone="Asia/Shanghai", updated_at=datetime.now(UTC)))


async def event_subjects(running: RunningService) -> list[str]:
    async with running.app.ctx.sessions() as session:
        return list((await session.scalars(select(outbox.c.subject).order_by(outbox.c.created_at))).all())


def fields(error: grpc.aio.AioRpcError) -> set[str]:
    """The field violations the server attached to the status."""
    status = rpc_status.from_call(error)
    names: set[str] = set()
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            names.update(v.field for v in bad.field_violations)
    return names


async def rpc_error(call) -> grpc.aio.AioRpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


async def test_customer_lifecycle_scope_sharing_and_events(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))

        created = await api.CreateCustomer(pb.CreateCustomerRequest(
            legal_name="华为技术有限公司", credit_code=CREDIT_CODE, tier="key", tags=["ＶＩＰ", "vip"],
            address=pb.CustomerAddress(text="深圳市龙岗区", latitude=22.65, longitude=114.06)), metadata=a)
        huawei = created.customer
        assert (huawei.owner_id, huawei.org_path, huawei.version, list(huawei.tags)) == \
            ("rep-a", "/c/r1/b1/t1/", 1, ["vip"])
        assert huawei.address.latitude == pytest.approx(22.65)

        # Exact normalised name or the same credit code blocks and names the owner.
        dup = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术（深圳）有限公司"),
                                                 metadata=b))
        assert dup.code() == grpc.StatusCode.ALREADY_EXISTS and "rep-a" in dup.details()
        dup = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Other Co", credit_code=CREDIT_CODE),
                                                 metadata=b))
        assert dup.code() == grpc.StatusCode.ALREADY_EXISTS and "rep-a" in dup.details()
        # A near match is a warning; the create goes through.
        near = await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术服务有限公司"), metadata=b)
        assert [w.customer_id for w in near.warnings] == [huawei.id]
        report = await api.CheckDuplicates(pb.CheckDuplicatesRequest(legal_name="华为技术股份有限公司"), metadata=c)
        assert [(m.customer_id, m.owner_id, m.reason) for m in report.blocking] == \
            [(huawei.id, "rep-a", "same_normalised_name")]

        # Bad input: the field is named, nothing written.
        bad = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(legal_name="  "), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "legal_name" in fields(bad)
        bad = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(
            legal_name="Acme", credit_code="91350100M000100Y44"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "credit_code" in fields(bad)
        bad = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(
            legal_name="Acme", address=pb.CustomerAddress(text="x", latitude=91, longitude=0)), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "address.latitude" in fields(bad)
        bad = await rpc_error(api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Acme", owner_id="ghost"),
                                                 metadata=mgr))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "owner_id" in fields(bad)

        # Scope: rep-b cannot read rep-a's customer; the branch manager can; rep-c sees nothing of b1.
        denied = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=mgr)).legal_name == "华为技术有限公司"
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

        # Optimistic update: the version must match; a stale copy is refused.
        updated = await api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=1, tier="normal"),
                                           metadata=a)
        assert (updated.tier, updated.version, updated.legal_name) == ("normal", 2, "华为技术有限公司")
        stale = await rpc_error(api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=1,
                                                                            tier="key"), metadata=a))
        assert stale.code() == grpc.StatusCode.ABORTED and "version" in fields(stale)
        bad = await rpc_error(api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=2,
                                                                          tier="gold"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "tier" in fields(bad)

        # Contacts: one primary at a time; bad e-mail names the field.
        await api.AddContact(pb.AddContactRequest(customer_id=huawei.id, full_name="张三", phones=["138-0000-0000"],
                                                  primary=True), metadata=a)
        await api.AddContact(pb.AddContactRequest(customer_id=huawei.id, full_name="李四", primary=True), metadata=a)
        contacts = await api.ListContacts(pb.ListContactsRequest(customer_id=huawei.id), metadata=mgr)
        assert [(x.full_name, x.primary) for x in contacts.contacts] == [("张三", False), ("李四", True)]
        assert list(contacts.contacts[0].phones) == ["13800000000"]
        bad = await rpc_error(api.AddContact(pb.AddContactRequest(customer_id=huawei.id, full_name="王五",
                                                                  email="not-an-email"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "contact.email" in fields(bad)

        # Sharing: a collaborator reads but cannot edit; the share shows in his list.
        shares = await api.ShareCustomer(pb.ShareCustomerRequest(customer_id=huawei.id, user_id="rep-b",
                                                                 role="collaborator"), metadata=a)
        assert [(s.user_id, s.role) for s in shares.shares] == [("rep-b", "collaborator")]
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b)).id == huawei.id
        listed = await api.ListCustomers(pb.ListCustomersRequest(), metadata=b)
        assert huawei.id in {x.id for x in listed.customers}
        denied = await rpc_error(api.UpdateCustomer(pb.UpdateCustomerRequest(id=huawei.id, expected_version=2,
                                                                             industry="ICT"), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        denied = await rpc_error(api.ShareCustomer(pb.ShareCustomerRequest(customer_id=huawei.id, user_id="rep-c",
                                                                           role="co_owner"), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
        await api.UnshareCustomer(pb.UnshareCustomerRequest(customer_id=huawei.id, user_id="rep-b"), metadata=mgr)
        denied = await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=b))
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED

        subjects = await event_subjects(running)
        assert subjects.count("salesgrid.customers.customer.created") == 5
        assert subjects.count("salesgrid.customers.customer.updated") == 1
        assert "salesgrid.customers.customer.shared" in subjects
        assert "salesgrid.customers.customer.unshared" in subjects


async def test_pool_release_cooldown_and_concurrent_claims(database_url: str, nats_url: str, test_keys) -> None:
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, c, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))
        acme = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="Acme Trading Co., Ltd."),
                                         metadata=a)).customer

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
        assert cooling.code() == grpc.StatusCode.FAILED_PRECONDITION and "reclaim_cooldown_days" in fields(cooling)

        # Two reps claim at once: exactly one wins.
        results = await asyncio.gather(api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=b),
                                       api.ClaimCustomer(pb.ClaimCustomerRequest(id=acme.id), metadata=c),
                                       return_exceptions=True)
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


class _TestJwks(identity_pb2_grpc.AuthServicer):
    """Stands in for identity: the gateway fetches the test signing keys from here."""

    def __init__(self, jwks: str) -> None:
        self.jwks = jwks

    async def GetJwks(self, request: identity_pb2.GetJwksRequest, context: grpc.aio.ServicerContext) -> identity_pb2.Jwks:
        return identity_pb2.Jwks(json=self.jwks)


async def test_gateway_routes(database_url: str, nats_url: str, test_keys) -> None:
    identity = grpc.aio.server()
    identity_pb2_grpc.add_AuthServicer_to_server(_TestJwks(test_keys.jwks()), identity)
    identity_port = identity.add_insecure_port("127.0.0.1:0")
    await identity.start()
    try:
        async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running:
            await seed_directory(running)
            gateway = create_app(GatewaySettings(environment="test", identity_addr=f"127.0.0.1:{identity_port}",
                                                 customers_addr=running.address, metrics_port=0)).test_client()
            headers = {"Authorization": token(test_keys, "rep-a")[0][1]}
            await asyncio.to_thread(_gateway_scenario, gateway, headers, {"Authorization": token(test_keys, "rep-b")[0][1]})
    finally:
        await identity.stop(0)


def _gateway_scenario(gateway, a: dict[str, str], b: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    created = gateway.post("/v1/customers", json={"legal_name": "上海浦东发展银行股份有限公司", "tier": "key",
                                                  "address": {"text": "中山东一路12号", "latitude": 31.2,
                                                              "longitude": 121.5}}, headers=a)
    assert created.status_code == 201, created.json
    customer = created.json
    assert created.headers["ETag"] == '"1"' and customer["duplicate_warnings"] == []
    cid = customer["id"]

    dup = gateway.post("/v1/customers", json={"legal_name": "上海浦东发展银行（上海）"}, headers=b)
    assert dup.status_code == 409 and "rep-a" in dup.json["detail"]
    check = gateway.post("/v1/customers/duplicate-check", json={"legal_name": "浦东发展银行"}, headers=b)
    assert check.status_code == 200 and [w["customer_id"] for w in check.json["warnings"]] == [cid]
    bad = gateway.post("/v1/customers", json={"legal_name": "X", "credit_code": "123"}, headers=a)
    assert bad.status_code == 400 and {e["field"] for e in bad.json["errors"]} == {"credit_code"}

    assert gateway.get(f"/v1/customers/{cid}", headers=b).status_code == 403
    assert gateway.patch(f"/v1/customers/{cid}", json={"tier": "normal"}, headers=a).status_code == 428
    patched = gateway.patch(f"/v1/customers/{cid}", json={"tags": ["银行"]}, headers={**a, "If-Match": '"1"'})
    assert patched.status_code == 200 and patched.headers["ETag"] == '"2"' and patched.json["tags"] == ["银行"]
    stale = gateway.patch(f"/v1/customers/{cid}", json={"tier": "normal"}, headers={**a, "If-Match": '"1"'})
    assert stale.status_code == 409

    contact = gateway.post(f"/v1/customers/{cid}/contacts", json={"full_name": "陈明", "primary": True}, headers=a)
    assert contact.status_code == 201 and contact.json["primary"] is True
    assert [c["full_name"] for c in gateway.get(f"/v1/customers/{cid}/contacts", headers=a).json["items"]] == ["陈明"]
    shared = gateway.post(f"/v1/customers/{cid}/shares", json={"user_id": "rep-b", "role": "co_owner"}, headers=a)
    assert shared.status_code == 200 and shared.json["items"] == [{"user_id": "rep-b", "role": "co_owner"}]
    listed = gateway.get("/v1/customers?limit=10", headers=b)
    assert [c["id"] for c in listed.json["items"]] == [cid] and listed.json["next_cursor"] is None
    assert gateway.delete(f"/v1/customers/{cid}/shares/rep-b", headers=a).json["items"] == []

    released = gateway.post(f"/v1/customers/{cid}/release", json={"reason": "lost contact"}, headers=a)
    assert released.status_code == 200 and released.json["owner_id"] == ""
    assert [c["id"] for c in gateway.get("/v1/pool", headers=b).json["items"]] == [cid]
    claimed = gateway.post(f"/v1/pool/{cid}/claim", headers=b)
    assert claimed.status_code == 200 and claimed.json["owner_id"] == "rep-b"
    assert gateway.post(f"/v1/pool/{cid}/claim", headers=a).status_code == 422

    paths = gateway.get("/openapi.json").json["paths"]
    assert {"/v1/customers", "/v1/customers/{customer_id}/shares", "/v1/pool/{customer_id}/claim"} <= set(paths)
