"""The expenses service under test and the builders its service tests share (imported by name, the
fixtures with them; gateway/tests/test_expenses_routes.py reads OWN through test_expenses_service.py):
the directory it replicates (units, people and their permissions), stand-ins for the customers and
pipeline services it asks, and helpers that file claims and read the outbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.customers.v1 import customers_pb2 as cpb
from salesgrid.customers.v1 import customers_pb2_grpc as cpb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.expenses.v1 import expenses_pb2 as pb
from salesgrid.expenses.v1 import expenses_pb2_grpc as pb_grpc
from salesgrid.pipeline.v1 import pipeline_pb2 as ppb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as ppb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica
from salesgrid_dev.testing import TestKeys, bearer, field_violations, principal, run_service
from salesgrid_expenses.app import DEFINITION, MIGRATIONS
from salesgrid_expenses.settings import ExpensesSettings
from sqlalchemy import select


COMPANY, BRANCH, TEAM, OTHER = "/c/", "/c/b1/", "/c/b1/t1/", "/c/b2/t2/"
UNITS = [("c", None, COMPANY), ("b1", "c", BRANCH), ("t1", "b1", TEAM), ("b2", "c", "/c/b2/"), ("t2", "b2", OTHER)]
OWN = {"expenses:read": "own", "expenses:create": "own", "expenses:update": "own"}
# user id, unit, org path, role, manager, permissions
PEOPLE = [
    ("rep-1", "t1", TEAM, "rep", "sup-1", OWN),
    ("sup-1", "t1", TEAM, "supervisor", "mgr-1", {**OWN, "expenses:read": "team", "expenses:approve": "team"}),
    ("mgr-1", "b1", BRANCH, "manager", "dir-1", {**OWN, "expenses:read": "subtree", "expenses:approve": "subtree"}),
    ("dir-1", "c", COMPANY, "director", None, {"expenses:read": "all", "expenses:approve": "all"}),
    ("rep-2", "t2", OTHER, "rep", "dir-1", OWN),
    ("fin-1", "c", COMPANY, "finance", None, {"expenses:read": "all", "expenses:pay": "all"}),
]
PDF, PNG = b"%PDF-1.7\n1 0 obj\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@dataclass
class Running:
    api: pb_grpc.ExpensesStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    service: object
    clock: FakeClock
    peers: StandIns


class StandIns(cpb_grpc.CustomersServicer, ppb_grpc.PipelineServicer):
    """The customers and pipeline services as far as expenses asks them: what the caller (whose
    token must be forwarded) may read, and an opportunity's customer."""

    customers = {"cust-1", "cust-2"}
    opportunities = {"opp-1": "cust-1", "opp-2": "cust-2"}

    def __init__(self) -> None:
        self.callers: list[str] = []

    def _seen(self, context: grpc.aio.ServicerContext) -> None:
        self.callers.append(dict(context.invocation_metadata()).get("authorization", ""))

    async def GetCustomer(self, request, context):  # type: ignore[no-untyped-def]
        self._seen(context)
        if request.id not in self.customers:
            await context.abort(grpc.StatusCode.NOT_FOUND, "customer not found")
        return cpb.Customer(id=request.id)

    async def GetOpportunity(self, request, context):  # type: ignore[no-untyped-def]
        self._seen(context)
        if request.id not in self.opportunities:
            await context.abort(grpc.StatusCode.NOT_FOUND, "opportunity not found")
        return ppb.Opportunity(id=request.id, customer_id=self.opportunities[request.id])


@contextlib.asynccontextmanager
async def stand_ins() -> AsyncIterator[tuple[str, StandIns]]:
    servicer, server = StandIns(), grpc.aio.server()
    cpb_grpc.add_CustomersServicer_to_server(servicer, server)
    ppb_grpc.add_PipelineServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(0)


@pytest.fixture
async def expenses(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[Running]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_ins() as (peers, seen),
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=clock,
            settings_cls=ExpensesSettings,
            customers_addr=peers,
            pipeline_addr=peers,
        ) as running,
    ):
        async with replica(running) as session:
            for unit_id, parent, path in UNITS:
                await add_unit(session, unit_id, path, parent_id=parent, at=clock())
            for user_id, unit, path, role, manager, _perms in PEOPLE:
                await add_user(session, user_id, path, unit_id=unit, manager_id=manager, roles=role, at=clock())
        tokens = {
            user_id: caller(test_keys, user_id, path, perms, unit_id=unit)
            for user_id, unit, path, _role, _manager, perms in PEOPLE
        }
        tokens["admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"org_units:update": "all", "org_units:read": "all"})
            )
        )
        yield Running(pb_grpc.ExpensesStub(running.channel), tokens, running, clock, seen)


async def failure(call) -> tuple[grpc.StatusCode, list[str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), field_violations(caught.value)


def line(category: str = "travel", amount: str = "300.00", **links: str) -> pb.ExpenseLineInput:
    return pb.ExpenseLineInput(category=category, spent_on="2026-03-01", amount=amount, **links)


async def filed(x: Running, owner: str, *lines: pb.ExpenseLineInput) -> pb.ExpenseClaim:
    """A claim with a receipt on every line, submitted."""
    claim = await x.api.CreateClaim(
        pb.CreateClaimRequest(title="trip", currency="CNY", lines=lines), metadata=x.tokens[owner]
    )
    for item in claim.lines:
        claim = await x.api.AddReceipt(
            pb.AddReceiptRequest(
                claim_id=claim.id,
                line_no=item.line_no,
                file_name=f"r{item.line_no}.pdf",
                content_type="application/pdf",
                content=PDF + item.line_no.to_bytes(2, "big"),
            ),
            metadata=x.tokens[owner],
        )
    return await x.api.SubmitClaim(pb.ClaimActionRequest(id=claim.id), metadata=x.tokens[owner])


async def envelopes(x: Running) -> list[Envelope]:
    """The outbox in the relay's order (UUIDv7 event ids; the test clock freezes timestamps)."""
    async with x.service.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
    return [Envelope.FromString(row.envelope) for row in rows]
