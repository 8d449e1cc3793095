"""Contracts on the branch's calendar, on SQLite and PostgreSQL: before 08:00 in Shanghai a receipt
dated today is accepted and one without a date gets Shanghai's today (the UTC date is still
yesterday), signing defaults to the local date, and an instalment is overdue from the local
midnight after its due date — in Shanghai (UTC+8) and in Etc/GMT+12 (UTC-12) — reminded by the
service's system actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsInstalmentOverdue
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.actors import system_actor
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_contracts.usecases import ContractsUseCases
from salesgrid_dev.testing import bearer, field_violations, principal, run_service
from sqlalchemy import select

from contracts_fixtures import BOSS_PERMS, REP_PERMS
from salesgrid_dev.directory_seed import add_unit, add_user, caller, replica

SHANGHAI_TEAM, FAR_WEST_TEAM = "/c/r1/b1/t1/", "/c/r1/b2/t3/"
UNITS = [
    ("/c/r1/b1/", "Asia/Shanghai"),
    (SHANGHAI_TEAM, "Asia/Shanghai"),
    ("/c/r1/b2/", "Etc/GMT+12"),
    (FAR_WEST_TEAM, "Etc/GMT+12"),
]
# user id, unit (= org path here), manager
PEOPLE = [
    ("rep-1", SHANGHAI_TEAM, "mgr-1"),
    ("mgr-1", "/c/r1/b1/", None),
    ("rep-3", FAR_WEST_TEAM, "mgr-2"),
    ("mgr-2", "/c/r1/b2/", None),
]
# 23:30 UTC on 2 March: 07:30 on 3 March in Shanghai, 11:30 on 2 March in Etc/GMT+12.
START = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)


@dataclass
class World:
    api: pb_grpc.ContractsStub
    tokens: dict[str, tuple[tuple[str, str], ...]]
    clock: FakeClock
    running: object


@pytest.fixture
async def world(database_url: str, nats_url: str, test_keys) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = FakeClock(START)
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            for path, zone in UNITS:
                await add_unit(session, path, path, zone=zone, at=clock())
            for user_id, path, manager in PEOPLE:
                # the user's own copy says UTC: the unit's zone must win
                role = "rep" if manager else "manager"
                await add_user(
                    session, user_id, path, unit_id=path, manager_id=manager, roles=role, zone="UTC", at=clock()
                )
        tokens = {
            user_id: caller(test_keys, user_id, path, REP_PERMS if manager else BOSS_PERMS, unit_id=path)
            for user_id, path, manager in PEOPLE
        }
        tokens["admin"] = bearer(test_keys.token(principal(user_id="admin", permissions={"products:create": "all"})))
        yield World(pb_grpc.ContractsStub(running.channel), tokens, clock, running)


async def signed(w: World, rep: str, manager: str) -> pb.Contract:
    product = await w.api.CreateProduct(
        pb.CreateProductRequest(
            sku=f"SKU-{rep}", name="CRM licence", prices=[pb.ProductPrice(currency="CNY", amount="20000.00")]
        ),
        metadata=w.tokens["admin"],
    )
    contract = await w.api.CreateContract(
        pb.CreateContractRequest(
            customer_id="cust-1",
            branch_code="SH",
            currency="CNY",
            start_date="2026-03-01",
            end_date="2027-02-28",
            lines=[pb.ContractLineInput(product_id=product.id, quantity="3", discount_percent="0")],
        ),
        metadata=w.tokens[rep],
    )
    await w.api.SubmitContract(pb.ContractActionRequest(id=contract.id), metadata=w.tokens[rep])
    await w.api.ApproveContract(pb.ContractDecisionRequest(id=contract.id), metadata=w.tokens[manager])
    return await w.api.SignContract(pb.SignContractRequest(id=contract.id), metadata=w.tokens[rep])


async def overdue_envelopes(w: World) -> list[Envelope]:
    async with w.running.app.ctx.sessions() as session:  # type: ignore[attr-defined]
        rows = (
            await session.scalars(
                select(outbox.c.envelope)
                .where(outbox.c.subject == "salesgrid.contracts.instalment.overdue")
                .order_by(outbox.c.created_at)
            )
        ).all()
    return [Envelope.FromString(row) for row in rows]


async def test_receipts_signing_and_overdue_instalments_follow_the_branch_calendar(world: World) -> None:
    w = world
    shanghai = await signed(w, "rep-1", "mgr-1")
    far_west = await signed(w, "rep-3", "mgr-2")
    assert (shanghai.signed_on, far_west.signed_on) == ("2026-03-03", "2026-03-02")  # each branch's today

    # Receipts before 08:00 in Shanghai: today there is 3 March although UTC says 2 March.
    undated = await w.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=shanghai.id, amount="100.00", method="cash"), metadata=w.tokens["rep-1"]
    )
    assert undated.received_on == "2026-03-03"
    today = await w.api.RecordReceipt(
        pb.RecordReceiptRequest(contract_id=shanghai.id, amount="100.00", method="cash", received_on="2026-03-03"),
        metadata=w.tokens["rep-1"],
    )
    assert today.received_on == "2026-03-03"
    with pytest.raises(grpc.aio.AioRpcError) as tomorrow:
        await w.api.RecordReceipt(
            pb.RecordReceiptRequest(contract_id=shanghai.id, amount="100.00", method="cash", received_on="2026-03-04"),
            metadata=w.tokens["rep-1"],
        )
    assert (tomorrow.value.code(), field_violations(tomorrow.value)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        ["received_on"],
    )
    # In Etc/GMT+12 it is still 2 March: the 3rd is in the future there.
    with pytest.raises(grpc.aio.AioRpcError) as ahead:
        await w.api.RecordReceipt(
            pb.RecordReceiptRequest(contract_id=far_west.id, amount="100.00", method="cash", received_on="2026-03-03"),
            metadata=w.tokens["rep-3"],
        )
    assert field_violations(ahead.value) == ["received_on"]

    for contract, rep in ((shanghai, "rep-1"), (far_west, "rep-3")):
        await w.api.SetPaymentPlan(
            pb.SetPaymentPlanRequest(
                contract_id=contract.id,
                instalments=[
                    pb.InstalmentInput(due_date="2026-03-03", amount="10000.00"),
                    pb.InstalmentInput(due_date="2026-09-01", amount="50000.00"),
                ],
            ),
            metadata=w.tokens[rep],
        )
    uc = w.running.app.ctx.component(ContractsUseCases)  # type: ignore[attr-defined]
    assert await uc.send_reminders() == 0  # due today in both branches: not overdue yet

    w.clock.now = datetime(2026, 3, 3, 15, 59, tzinfo=UTC)  # 23:59 on the 3rd in Shanghai
    assert await uc.send_reminders() == 0
    w.clock.now = datetime(2026, 3, 3, 16, 0, tzinfo=UTC)  # midnight in Shanghai, 04:00 on the 3rd far west
    assert await uc.send_reminders() == 1
    w.clock.now = datetime(2026, 3, 4, 11, 59, tzinfo=UTC)  # 23:59 on the 3rd far west
    assert await uc.send_reminders() == 0
    w.clock.now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # midnight in Etc/GMT+12
    assert await uc.send_reminders() == 1
    assert await uc.send_reminders() == 0  # once per instalment

    reminded = await overdue_envelopes(w)
    assert [ContractsInstalmentOverdue.FromString(e.payload).contract_id for e in reminded] == [
        shanghai.id,
        far_west.id,
    ]
    assert {e.actor_id for e in reminded} == {system_actor("contracts")}
