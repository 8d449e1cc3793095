"""ListContracts loads a page in a fixed number of queries (lines, approval steps and proposed
amendments batched for the page), and each listed contract reads exactly as GetContract shows it:
drafts, contracts awaiting approval, and a signed one with an amendment under approval."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import TestKeys, bearer, principal, run_service
from sqlalchemy import event
from sqlalchemy.engine import Engine

from salesgrid_dev.directory_seed import add_user, caller, replica

PEOPLE = {"rep-1": ("/c/r1/b1/t1/", "mgr-1"), "mgr-1": ("/c/r1/b1/", None)}
REP = {"contracts:read": "own", "contracts:create": "own", "contracts:update": "own", "products:read": "all"}
BOSS = {"contracts:read": "subtree", "contracts:approve": "subtree"}


@contextmanager
def counted_selects() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn, cursor, statement: str, *args: object) -> None:  # type: ignore[no-untyped-def]
        # the service's own reads of contracts (not the outbox relay polling meanwhile)
        if statement.lstrip().upper().startswith("SELECT") and re.search(
            r"FROM (contracts|contract_lines|approval_steps|contract_revisions)\b", statement
        ):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def test_a_page_of_contracts_costs_the_same_queries_as_one(
    database_url: str, nats_url: str, test_keys: TestKeys
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            for user_id, (path, manager) in PEOPLE.items():
                role = "rep" if manager else "manager"
                await add_user(session, user_id, path, unit_id=path, manager_id=manager, roles=role, at=clock())
        rep = caller(test_keys, "rep-1", PEOPLE["rep-1"][0], REP, unit_id=PEOPLE["rep-1"][0])
        mgr = caller(test_keys, "mgr-1", PEOPLE["mgr-1"][0], BOSS, unit_id=PEOPLE["mgr-1"][0])
        admin = bearer(test_keys.token(principal("admin", permissions={"products:create": "all"})))
        api = pb_grpc.ContractsStub(running.channel)
        product = await api.CreateProduct(
            pb.CreateProductRequest(
                sku="SEAT", name="Seat", prices=[pb.ProductPrice(currency="CNY", amount="1000.00")]
            ),
            metadata=admin,
        )

        async def draft(quantity: str) -> pb.Contract:
            return await api.CreateContract(
                pb.CreateContractRequest(
                    customer_id="cust-1",
                    branch_code="SH",
                    currency="CNY",
                    start_date="2026-04-01",
                    end_date="2027-03-31",
                    lines=[
                        pb.ContractLineInput(product_id=product.id, quantity=quantity),
                        pb.ContractLineInput(product_id=product.id, quantity="1"),
                    ],
                ),
                metadata=rep,
            )

        async def listed_with_selects() -> tuple[list[pb.Contract], int]:
            with counted_selects() as selects:
                page = await api.ListContracts(pb.ListContractsRequest(page_size=50), metadata=rep)
            return list(page.contracts), len(selects)

        first = await draft("2")
        one, queries_for_one = await listed_with_selects()
        assert [c.id for c in one] == [first.id]

        submitted = await draft("3")
        await api.SubmitContract(pb.ContractActionRequest(id=submitted.id), metadata=rep)
        signed = await draft("4")
        await api.SubmitContract(pb.ContractActionRequest(id=signed.id), metadata=rep)
        await api.ApproveContract(pb.ContractDecisionRequest(id=signed.id), metadata=mgr)
        await api.SignContract(pb.SignContractRequest(id=signed.id), metadata=rep)
        await api.AmendContract(
            pb.AmendContractRequest(
                id=signed.id, terms="five seats", lines=[pb.ContractLineInput(product_id=product.id, quantity="5")]
            ),
            metadata=rep,
        )
        for _ in range(3):
            await draft("1")

        many, queries_for_many = await listed_with_selects()
        assert len(many) == 6
        assert queries_for_many <= queries_for_one + 1  # + the proposed amendments' query, once
        by_id = {c.id: c for c in many}
        for contract_id in (first.id, submitted.id, signed.id):
            assert by_id[contract_id] == await api.GetContract(pb.GetContractRequest(id=contract_id), metadata=rep)
        assert [s.approver_id for s in by_id[submitted.id].approval_steps] == ["mgr-1"]
        assert (by_id[signed.id].approval_kind, by_id[signed.id].proposed.revision) == ("amendment", 2)
        assert [line.quantity for line in by_id[first.id].lines] == ["2", "1"]
