"""Custom fields on contracts through the gateway: defined over REST, set on create and on their
own PATCH (If-Match; stale is 412), refused values name the field, cf_ list filters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


from salesgrid.contracts.v1 import contracts_pb2 as pb
from salesgrid.contracts.v1 import contracts_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import bearer, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from test_contracts_custom_fields import ADMIN, REP


async def test_contract_custom_fields_through_the_gateway(database_url: str, nats_url: str, test_keys) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, contracts_addr=running.address))
        )
        rep = {"Authorization": f"Bearer {test_keys.token(principal('rep-1', '/c/b1/', permissions=REP))}"}
        admin = {"Authorization": f"Bearer {test_keys.token(principal('admin', permissions=ADMIN))}"}

        def send(method: str, path: str, headers: dict[str, str], body: dict | None = None):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

        defined = await send(
            "post",
            "/v1/custom-fields/contracts",
            admin,
            {"key": "region", "label": "Region", "type": "choice", "options": ["n", "s"]},
        )
        assert defined.status_code == 201, defined.get_json()
        api = pb_grpc.ContractsStub(running.channel)
        grpc_admin = bearer(test_keys.token(principal("admin", permissions=ADMIN)))
        product = await api.CreateProduct(
            pb.CreateProductRequest(
                sku="SKU-1", name="Licence", prices=[pb.ProductPrice(currency="CNY", amount="100.00")]
            ),
            metadata=grpc_admin,
        )
        created = await send(
            "post",
            "/v1/contracts",
            rep,
            {
                "customer_id": "cust-1",
                "branch_code": "SH",
                "currency": "CNY",
                "start_date": "2026-04-01",
                "end_date": "2027-03-31",
                "lines": [{"product_id": product.id, "quantity": "1"}],
                "custom_fields": {"region": "n"},
            },
        )
        assert created.status_code == 201 and created.get_json()["custom_fields"] == {"region": "n"}
        contract = created.get_json()
        stale = await send(
            "patch",
            f"/v1/contracts/{contract['id']}/custom-fields",
            rep | {"If-Match": '"9"'},
            {"custom_fields": {"region": "s"}},
        )
        assert stale.status_code == 412  # a stale If-Match: Precondition Failed
        bad = await send(
            "patch",
            f"/v1/contracts/{contract['id']}/custom-fields",
            rep | {"If-Match": '"1"'},
            {"custom_fields": {"region": "w"}},
        )
        assert bad.status_code == 400 and [e["field"] for e in bad.get_json()["errors"]] == ["custom_fields.region"]
        changed = await send(
            "patch",
            f"/v1/contracts/{contract['id']}/custom-fields",
            rep | {"If-Match": '"1"'},
            {"custom_fields": {"region": "s"}},
        )
        assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
        found = await send("get", "/v1/contracts?cf_region=s", rep)
        assert [c["id"] for c in found.get_json()["items"]] == [contract["id"]]
        assert (await send("get", "/v1/contracts?cf_region=n", rep)).get_json()["items"] == []
