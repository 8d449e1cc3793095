"""Duplicate warnings and 409s name the owner and his unit (from the directory replica), and the
share request a rep then makes, through gRPC on SQLite and PostgreSQL: the owner or his manager
accepts (the customer is shared under the sharing rules) or declines; every step is an event."""

from __future__ import annotations


import grpc
from grpc_status import rpc_status
from google.rpc import error_details_pb2
from sqlalchemy import select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid.customers.v1 import share_requests_pb2 as spb
from salesgrid.customers.v1 import share_requests_pb2_grpc as spb_grpc
from salesgrid.events.v1.customers_events_pb2 import CustomerShareRequestState
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.envelope import unpack
from salesgrid_common.events.tables import outbox
from salesgrid_customers.app import usecases_for
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica
from salesgrid_dev.testing import RunningService, field_violations

from customers_fixtures import rpc_error, running_customers

REP = {
    "customers:read": "own",
    "customers:create": "own",
    "customers:update": "own",
    "customers:share": "own",
    "customers:import": "own",
    "pool:read": "all",
    "pool:claim": "own",
    "pool:release": "own",
}
MANAGER = {**REP, "customers:read": "subtree", "customers:update": "subtree", "customers:share": "subtree"}
# user id -> (display name, org path, unit id, manager id)
PEOPLE = {
    "rep-a": ("王芳", "/c/r1/b1/t1/", "t1", "mgr"),
    "rep-b": ("李雷", "/c/r1/b1/t2/", "t2", "mgr"),
    "rep-c": ("Zhou Xun", "/c/r2/b9/t9/", "t9", None),
    "mgr": ("韩梅", "/c/r1/b1/", "b1", None),
}
UNITS = {"t1": "华东一组", "t2": "华东二组", "t9": "华南九组", "b1": "华东分公司"}


def who(keys, user_id: str) -> tuple[tuple[str, str], ...]:  # type: ignore[no-untyped-def]
    _, path, unit, _ = PEOPLE[user_id]
    if user_id == "mgr":
        return caller(keys, user_id, path, MANAGER, unit_id=unit, roles=("manager",))
    return caller(keys, user_id, path, REP, unit_id=unit, roles=("rep",))


async def seed(running: RunningService) -> None:
    async with replica(running) as session:
        for unit_id, name in UNITS.items():
            await add_unit(session, unit_id, f"/{unit_id}/", name=name)
        for user_id, (name, path, unit, manager) in PEOPLE.items():
            await add_user(session, user_id, path, unit_id=unit, manager_id=manager, roles="", name=name)


def error_info(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return dict(info.metadata)
    return {}


async def share_request_events(running: RunningService) -> list[tuple[str, CustomerShareRequestState]]:
    async with running.app.ctx.sessions() as session:
        rows = (
            await session.execute(
                select(outbox.c.subject, outbox.c.envelope)
                .where(outbox.c.subject.like("salesgrid.customers.share_request.%"))
                .order_by(outbox.c.event_id)
            )
        ).all()
    return [(subject, unpack(Envelope.FromString(raw), CustomerShareRequestState)) for subject, raw in rows]


async def test_duplicates_name_the_owner_and_his_unit_on_create_update_check_and_import(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, c = who(test_keys, "rep-a"), who(test_keys, "rep-c")
        huawei = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=a)
        ).customer

        dup = await rpc_error(
            api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术（深圳）有限公司"), metadata=c)
        )
        assert dup.code() == grpc.StatusCode.ALREADY_EXISTS and "王芳 (华东一组)" in dup.details()
        assert error_info(dup) == {
            "existing_customer_id": huawei.id,
            "existing_owner_id": "rep-a",
            "existing_owner_name": "王芳",
            "existing_owner_unit_id": "t1",
            "existing_owner_unit": "华东一组",
        }
        near = await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术服务有限公司"), metadata=c)
        assert [(w.customer_id, w.owner_name, w.owner_unit_id, w.owner_unit_name) for w in near.warnings] == [
            (huawei.id, "王芳", "t1", "华东一组")
        ]
        report = await api.CheckDuplicates(pb.CheckDuplicatesRequest(legal_name="华为技术股份有限公司"), metadata=c)
        assert [(m.owner_name, m.owner_unit_name) for m in report.blocking] == [("王芳", "华东一组")]
        # A rename onto the existing name: the same 409.
        renamed = await rpc_error(
            api.UpdateCustomer(
                pb.UpdateCustomerRequest(id=near.customer.id, expected_version=1, legal_name="华为技术有限公司"),
                metadata=c,
            )
        )
        assert renamed.code() == grpc.StatusCode.ALREADY_EXISTS and error_info(renamed)["existing_owner_name"] == "王芳"

        header = b"legal_name,credit_code,tier,tags,address,latitude,longitude,owner_id\n"
        job = await api.StartImport(
            iter([pb.ImportChunk(format="csv", data=header + "华为技术有限公司,,,,,,,\n".encode())]), metadata=c
        )
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=c)
        assert [(e.existing_owner_id, e.existing_owner_name, e.existing_owner_unit_name) for e in done.errors] == [
            ("rep-a", "王芳", "华东一组")
        ]
        assert "王芳 (华东一组)" in done.errors[0].message


async def test_share_request_accepted_by_the_manager_and_declined_by_the_owner(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed(running)
        api, shares = pb_grpc.CustomersStub(running.channel), spb_grpc.ShareRequestsStub(running.channel)
        a, b, c, mgr = (who(test_keys, u) for u in ("rep-a", "rep-b", "rep-c", "mgr"))
        huawei = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=a)
        ).customer
        assert (
            await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=c))
        ).code() == grpc.StatusCode.PERMISSION_DENIED

        asked = await shares.RequestShare(
            spb.RequestShareRequest(customer_id=huawei.id, message="我们在跟同一个项目"), metadata=c
        )
        assert (
            asked.status,
            asked.role,
            asked.requester.display_name,
            asked.owner.display_name,
            asked.owner.unit_name,
        ) == ("pending", "collaborator", "Zhou Xun", "王芳", "华东一组")
        again = await rpc_error(shares.RequestShare(spb.RequestShareRequest(customer_id=huawei.id), metadata=c))
        assert again.code() == grpc.StatusCode.ALREADY_EXISTS

        # The owner and his manager see it among the requests to decide; nobody else does.
        for token in (a, mgr):
            incoming = await shares.ListShareRequests(spb.ListShareRequestsRequest(status="pending"), metadata=token)
            assert [r.id for r in incoming.requests] == [asked.id]
        assert not (await shares.ListShareRequests(spb.ListShareRequestsRequest(), metadata=b)).requests
        outgoing = await shares.ListShareRequests(spb.ListShareRequestsRequest(box="outgoing"), metadata=c)
        assert [r.id for r in outgoing.requests] == [asked.id]
        assert (
            await rpc_error(shares.GetShareRequest(spb.GetShareRequestRequest(id=asked.id), metadata=b))
        ).code() == grpc.StatusCode.NOT_FOUND
        denied = await rpc_error(
            shares.DecideShareRequest(spb.DecideShareRequestRequest(id=asked.id, accept=True), metadata=b)
        )
        assert denied.code() == grpc.StatusCode.PERMISSION_DENIED

        # The manager accepts: the customer is shared with the requester, who now reads it.
        accepted = await shares.DecideShareRequest(
            spb.DecideShareRequestRequest(id=asked.id, accept=True, note="ok"), metadata=mgr
        )
        assert (accepted.status, accepted.decided_by.display_name, accepted.decision_note) == ("accepted", "韩梅", "ok")
        assert (await api.GetCustomer(pb.GetCustomerRequest(id=huawei.id), metadata=c)).id == huawei.id
        listed = await api.ListShares(pb.ListSharesRequest(customer_id=huawei.id), metadata=a)
        assert [(s.user_id, s.role) for s in listed.shares] == [("rep-c", "collaborator")]
        final = await rpc_error(
            shares.DecideShareRequest(spb.DecideShareRequestRequest(id=asked.id, accept=False), metadata=a)
        )
        assert final.code() == grpc.StatusCode.FAILED_PRECONDITION

        # The owner declines another request: nothing is shared.
        tencent = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="腾讯科技有限公司"), metadata=a)
        ).customer
        second = await shares.RequestShare(spb.RequestShareRequest(customer_id=tencent.id, role="co_owner"), metadata=b)
        declined = await shares.DecideShareRequest(
            spb.DecideShareRequestRequest(id=second.id, accept=False, note="我自己跟"), metadata=a
        )
        assert declined.status == "declined"
        assert (
            await rpc_error(api.GetCustomer(pb.GetCustomerRequest(id=tencent.id), metadata=b))
        ).code() == grpc.StatusCode.PERMISSION_DENIED

        # Every step is an event (identity audits every customers event; activities' inbox tells
        # the owner and his manager of a request, the requester and the owner of a decision).
        events = await share_request_events(running)
        assert [(subject.rsplit(".", 1)[1], e.request_id) for subject, e in events] == [
            ("created", asked.id),
            ("accepted", asked.id),
            ("created", second.id),
            ("declined", second.id),
        ]
        created, decided = events[0][1], events[1][1]
        assert (created.owner_id, created.owner_manager_id, created.requester_name, created.customer_name) == (
            "rep-a",
            "mgr",
            "Zhou Xun",
            "华为技术有限公司",
        )
        assert (decided.status, decided.decided_by, decided.decided_by_name) == ("accepted", "mgr", "韩梅")


async def test_share_requests_refuse_what_makes_no_sense(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed(running)
        api, shares = pb_grpc.CustomersStub(running.channel), spb_grpc.ShareRequestsStub(running.channel)
        a, c = who(test_keys, "rep-a"), who(test_keys, "rep-c")
        own = (await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="阿里巴巴有限公司"), metadata=a)).customer
        pooled = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="百度在线有限公司"), metadata=a)
        ).customer
        await api.ReleaseCustomer(pb.ReleaseCustomerRequest(id=pooled.id, reason="not my area"), metadata=a)
        cases = [
            (spb.RequestShareRequest(customer_id=own.id, role="boss"), c, grpc.StatusCode.INVALID_ARGUMENT),
            (spb.RequestShareRequest(customer_id=own.id, message="x" * 501), c, grpc.StatusCode.INVALID_ARGUMENT),
            (spb.RequestShareRequest(customer_id=""), c, grpc.StatusCode.INVALID_ARGUMENT),
            (spb.RequestShareRequest(customer_id="nope"), c, grpc.StatusCode.NOT_FOUND),
            (spb.RequestShareRequest(customer_id=own.id), a, grpc.StatusCode.FAILED_PRECONDITION),
            (spb.RequestShareRequest(customer_id=pooled.id), c, grpc.StatusCode.FAILED_PRECONDITION),
        ]
        for request, token, code in cases:
            assert (await rpc_error(shares.RequestShare(request, metadata=token))).code() == code, request
        bad = await rpc_error(shares.RequestShare(spb.RequestShareRequest(customer_id=own.id, role="boss"), metadata=c))
        assert field_violations(bad) == ["role"]
        bad = await rpc_error(shares.ListShareRequests(spb.ListShareRequestsRequest(box="sideways"), metadata=c))
        assert field_violations(bad) == ["box"]
        assert not await share_request_events(running)  # nothing half-written


async def test_two_deciders_at_once_one_decision(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed(running)
        api, shares = pb_grpc.CustomersStub(running.channel), spb_grpc.ShareRequestsStub(running.channel)
        a, c, mgr = (who(test_keys, u) for u in ("rep-a", "rep-c", "mgr"))
        customer = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="小米科技有限公司"), metadata=a)
        ).customer
        asked = await shares.RequestShare(spb.RequestShareRequest(customer_id=customer.id), metadata=c)
        results = await asyncio.gather(
            shares.DecideShareRequest(spb.DecideShareRequestRequest(id=asked.id, accept=True), metadata=mgr),
            shares.DecideShareRequest(spb.DecideShareRequestRequest(id=asked.id, accept=False), metadata=a),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(won) == 1 and len(lost) == 1
        assert lost[0].code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)
        decisions = [s for s, _ in await share_request_events(running) if not s.endswith(".created")]
        assert decisions == [f"salesgrid.customers.share_request.{won[0].status}"]
        listed = await api.ListShares(pb.ListSharesRequest(customer_id=customer.id), metadata=a)
        assert [s.user_id for s in listed.shares] == (["rep-c"] if won[0].status == "accepted" else [])
