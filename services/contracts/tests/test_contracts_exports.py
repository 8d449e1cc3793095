"""Contracts and receivables as export jobs, on SQLite and PostgreSQL: each file holds exactly
the creator's scope (contracts:read / payments:read), receivables with what is still owed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from salesgrid.common.v1 import exports_pb2 as epb
from salesgrid.common.v1 import exports_pb2_grpc as epb_grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import bearer, eventually, principal, run_service

from salesgrid_dev.directory_seed import add_user, caller, replica

PEOPLE = {"rep-1": "/c/r1/b1/t1/", "rep-3": "/c/r1/b2/t3/", "mgr-1": "/c/r1/b1/", "mgr-2": "/c/r1/b2/"}
REP = {
    "contracts:read": "own",
    "contracts:create": "own",
    "contracts:update": "own",
    "contracts:export": "own",
    "payments:create": "own",
    "payments:read": "own",
    "products:read": "all",
}
BOSS = {
    "contracts:read": "subtree",
    "contracts:approve": "subtree",
    "contracts:export": "subtree",
    "payments:read": "subtree",
}


async def test_contracts_and_receivables_exports_follow_scope(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        async with replica(running) as session:
            for user_id, path in PEOPLE.items():
                manager = {"rep-1": "mgr-1", "rep-3": "mgr-2"}.get(user_id)
                roles = "manager" if user_id.startswith("mgr") else "rep"
                await add_user(session, user_id, path, unit_id=path, manager_id=manager, roles=roles, at=clock())
        tokens = {
            u: caller(test_keys, u, p, REP if u.startswith("rep") else BOSS, unit_id=p) for u, p in PEOPLE.items()
        }
        admin = bearer(test_keys.token(principal("admin", permissions={"products:create": "all"})))
        api, exports = pb_grpc.ContractsStub(running.channel), epb_grpc.ExportsStub(running.channel)
        contracts = {}
        for owner, manager, price in (("rep-1", "mgr-1", "20000.00"), ("rep-3", "mgr-2", "10000.00")):
            product = await api.CreateProduct(
                pb.CreateProductRequest(
                    sku=f"SKU-{owner}", name="Licence", prices=[pb.ProductPrice(currency="CNY", amount=price)]
                ),
                metadata=admin,
            )
            draft = await api.CreateContract(
                pb.CreateContractRequest(
                    customer_id=f"cust-{owner}",
                    branch_code="SH",
                    currency="CNY",
                    start_date="2026-04-01",
                    end_date="2027-03-31",
                    lines=[pb.ContractLineInput(product_id=product.id, quantity="3", discount_percent="0")],
                ),
                metadata=tokens[owner],
            )
            await api.SubmitContract(pb.ContractActionRequest(id=draft.id), metadata=tokens[owner])
            await api.ApproveContract(pb.ContractDecisionRequest(id=draft.id), metadata=tokens[manager])
            signed = await api.SignContract(pb.SignContractRequest(id=draft.id), metadata=tokens[owner])
            await api.SetPaymentPlan(
                pb.SetPaymentPlanRequest(
                    contract_id=signed.id, instalments=[pb.InstalmentInput(due_date="2026-05-01", amount=signed.total)]
                ),
                metadata=tokens[owner],
            )
            contracts[owner] = signed
        await api.RecordReceipt(
            pb.RecordReceiptRequest(contract_id=contracts["rep-3"].id, amount="5000.00", method="cash"),
            metadata=tokens["rep-3"],
        )

        async def export(entity: str, who: str) -> list[dict[str, str]]:
            job = await exports.CreateExport(epb.CreateExportRequest(entity=entity, format="csv"), metadata=tokens[who])

            async def ready() -> epb.ExportJob | None:
                found = await exports.GetExport(epb.GetExportRequest(id=job.id), metadata=tokens[who])
                return found if found.status == "ready" else None

            done = await eventually(ready, timeout=20)
            first = await exports.DownloadExport(epb.DownloadExportRequest(id=job.id, seq=0), metadata=tokens[who])
            assert done.bytes_written == len(first.data)
            return list(csv.DictReader(io.StringIO(first.data.decode("utf-8-sig"))))

        assert [r["number"] for r in await export("contracts", "rep-1")] == [contracts["rep-1"].number]
        assert [r["number"] for r in await export("contracts", "mgr-2")] == [contracts["rep-3"].number]
        owed = await export("receivables", "mgr-2")
        assert [(r["contract_id"], r["amount"], r["paid"], r["outstanding"]) for r in owed] == [
            (contracts["rep-3"].id, "30000.00", "5000.00", "25000.00")
        ]
        assert [r["contract_id"] for r in await export("receivables", "rep-1")] == [contracts["rep-1"].id]
