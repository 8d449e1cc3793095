"""The contracts service under test and the builders its gRPC tests share (imported by name, the
fixture with them; conftest.py puts this folder on sys.path): the platform (the service on a fake
clock with the directory it replicates: reps, managers, a director and a regional head, and their
tokens), the status of a refused call, new and signed contracts, and the outbox's events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import TestKeys, bearer, field_violations, principal, run_service
from sqlalchemy import select

from contracts_fixtures import BOSS_PERMS, REP_PERMS
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica, unit_of


TEAM, BRANCH = "/c/r1/b1/t1/", "/c/r1/b1/"
# user id, org path, roles, manager
PEOPLE = [
    ("rep-1", TEAM, "rep", "mgr-1"),
    ("rep-2", TEAM, "rep", "mgr-1"),
    ("mgr-1", BRANCH, "manager", "dir-1"),
    ("dir-1", "/c/r1/", "director", "rh-1"),
    ("rh-1", "/c/", "regional_head", None),
    ("rep-3", "/c/r1/b2/t3/", "rep", "mgr-2"),
    ("mgr-2", "/c/r1/b2/", "manager", "dir-1"),
]


@dataclass
class Platform:
    api: pb_grpc.ContractsStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    clock: FakeClock
    running: object


def unit_paths(path: str) -> list[str]:
    """/c/r1/b1/ -> /c/, /c/r1/, /c/r1/b1/: the units on an org path."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


@pytest.fixture
async def platform(database_url: str, nats_url: str, test_keys: TestKeys) -> AsyncIterator[Platform]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            for user_id, path, role, manager in PEOPLE:
                await add_user(session, user_id, path, unit_id=path, manager_id=manager, roles=role, at=clock())
            for path in {unit for _, person_path, _, _ in PEOPLE for unit in unit_paths(person_path)}:
                await add_unit(session, unit_of(path), path, name=path, at=clock())
        tokens = {}
        for user_id, path, _role, _manager in PEOPLE:
            perms = REP_PERMS if user_id.startswith("rep") else BOSS_PERMS
            tokens[user_id] = caller(test_keys, user_id, path, perms, unit_id=path)
        tokens["admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"products:create": "all", "products:update": "all"})
            )
        )
        tokens["rules-admin"] = bearer(
            test_keys.token(
                principal(user_id="admin", permissions={"org_units:update": "all", "org_units:read": "all"})
            )
        )
        yield Platform(pb_grpc.ContractsStub(running.channel), tokens, clock, running)


async def failure(call) -> tuple[grpc.StatusCode, list[str]]:  # type: ignore[no-untyped-def]
    """The status code and the named fields of a call expected to fail."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), field_violations(caught.value)


async def new_contract(p: Platform, owner: str = "rep-1", price: str = "50000.00") -> pb.Contract:
    product = await p.api.CreateProduct(
        pb.CreateProductRequest(
            sku=f"SKU-{owner}-{price}", name="CRM licence", prices=[pb.ProductPrice(currency="CNY", amount=price)]
        ),
        metadata=p.tokens["admin"],
    )
    return await p.api.CreateContract(
        pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code="SH",
            currency="CNY",
            start_date="2026-04-01",
            end_date="2027-03-31",
            lines=[pb.ContractLineInput(product_id=product.id, quantity="3", discount_percent="0")],
        ),
        metadata=p.tokens[owner],
    )


async def envelopes(p: Platform) -> list[Envelope]:
    async with p.running.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        # The relay's order: event ids increase within the process (the test clock stands still).
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.event_id))).all()
    return [Envelope.FromString(row.envelope) for row in rows]


async def event_types(p: Platform, *, steps: bool = False) -> list[str]:
    """Event types in order; approval.step_* left out unless `steps` (they share timestamps with
    the contract event of the same transaction)."""
    return [e.type for e in await envelopes(p) if steps or ".approval.step_" not in e.type]


async def signed_contract(
    p: Platform, price: str = "20000.00", owner: str = "rep-1", manager: str = "mgr-1"
) -> pb.Contract:
    """A contract of 3 x price, approved by the manager alone (≤ 100,000) and signed."""
    contract = await new_contract(p, owner=owner, price=price)
    await p.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=p.tokens[owner])
    await p.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=p.tokens[manager])
    return await p.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=p.tokens[owner])
