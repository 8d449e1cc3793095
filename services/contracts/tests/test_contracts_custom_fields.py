"""Custom fields on contracts through gRPC on SQLite and PostgreSQL: values validated on create
and on their own update (any status), in events, list filters and exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import grpc
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct
from sqlalchemy import select

from salesgrid.common.v1 import custom_fields_pb2 as cf
from salesgrid.common.v1 import custom_fields_pb2_grpc as cf_grpc
from salesgrid.common.v1 import exports_pb2 as epb
from salesgrid.common.v1 import exports_pb2_grpc as epb_grpc
from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid.events.v1.contracts_events_pb2 import ContractsContractState
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.envelope import parse_envelope, unpack
from salesgrid_common.events.tables import outbox
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

REP = {
    "contracts:read": "own",
    "contracts:create": "own",
    "contracts:update": "own",
    "contracts:export": "own",
    "products:read": "all",
    "custom_fields:read": "all",
}
ADMIN = {"products:create": "all", "custom_fields:manage": "all", "custom_fields:read": "all"}


def struct(**values: object) -> Struct:
    s = Struct()
    s.update(values)
    return s


async def test_contract_custom_fields(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running:
        rep = bearer(test_keys.token(principal("rep-1", "/c/b1/", unit_id="b1", permissions=REP)))
        admin = bearer(test_keys.token(principal("admin", permissions=ADMIN)))
        api, fields = pb_grpc.ContractsStub(running.channel), cf_grpc.CustomFieldsStub(running.channel)
        await fields.DefineField(
            cf.DefineFieldRequest(
                entity="contracts", key="project_code", label="Project code", type="text", required=True
            ),
            metadata=admin,
        )
        await fields.DefineField(
            cf.DefineFieldRequest(entity="contracts", key="renewal", label="Auto renewal", type="boolean"),
            metadata=admin,
        )
        product = await api.CreateProduct(
            pb.CreateProductRequest(
                sku="SKU-1", name="Licence", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
            ),
            metadata=admin,
        )

        def create(**values: object) -> pb.CreateContractRequest:
            return pb.CreateContractRequest(
                customer_id="cust-1",
                branch_code="SH",
                currency="CNY",
                start_date="2026-04-01",
                end_date="2027-03-31",
                custom_fields=struct(**values),
                lines=[pb.ContractLineInput(product_id=product.id, quantity="1", discount_percent="0")],
            )

        try:
            await api.CreateContract(create(renewal="maybe"), metadata=rep)
            raise AssertionError("created")
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert sorted(field_violations(error)) == ["custom_fields.project_code", "custom_fields.renewal"]
        first = await api.CreateContract(create(project_code="P-1"), metadata=rep)
        second = await api.CreateContract(create(project_code="P-2", renewal=True), metadata=rep)
        assert json_format.MessageToDict(second.custom_fields) == {"project_code": "P-2", "renewal": True}

        first = await api.UpdateContractCustomFields(
            pb.UpdateContractCustomFieldsRequest(
                id=first.id, expected_version=first.version, custom_fields=struct(renewal="yes")
            ),
            metadata=rep,
        )
        assert json_format.MessageToDict(first.custom_fields) == {"project_code": "P-1", "renewal": True}
        try:
            await api.UpdateContractCustomFields(
                pb.UpdateContractCustomFieldsRequest(
                    id=first.id, expected_version=first.version, custom_fields=struct(project_code=None)
                ),
                metadata=rep,
            )
            raise AssertionError("cleared a required field")
        except grpc.aio.AioRpcError as error:
            assert field_violations(error) == ["custom_fields.project_code"]
        async with running.app.ctx.sessions() as session:
            envelope = await session.scalar(
                select(outbox.c.envelope).where(
                    outbox.c.subject == "salesgrid.contracts.contract.custom_fields_changed"
                )
            )
        state = unpack(parse_envelope(envelope), ContractsContractState)
        assert json_format.MessageToDict(state.custom_fields) == {"project_code": "P-1", "renewal": True}

        listed = await api.ListContracts(pb.ListContractsRequest(custom_fields={"project_code": "p-2"}), metadata=rep)
        assert [c.id for c in listed.contracts] == [second.id]
        listed = await api.ListContracts(pb.ListContractsRequest(custom_fields={"renewal": "true"}), metadata=rep)
        assert sorted(c.id for c in listed.contracts) == sorted([first.id, second.id])

        exports = epb_grpc.ExportsStub(running.channel)
        job = await exports.CreateExport(
            epb.CreateExportRequest(entity="contracts", format="csv", filters={"cf_project_code": "P-1"}), metadata=rep
        )

        async def ready() -> bool:
            return (await exports.GetExport(epb.GetExportRequest(id=job.id), metadata=rep)).status == "ready"

        await eventually(ready, timeout=20)
        chunk = await exports.DownloadExport(epb.DownloadExportRequest(id=job.id, seq=0), metadata=rep)
        rows = list(csv.DictReader(io.StringIO(chunk.data.decode("utf-8-sig"))))
        assert [(r["id"], r["cf_project_code"], r["cf_renewal"]) for r in rows] == [(first.id, "P-1", "true")]
