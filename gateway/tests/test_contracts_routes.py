"""The contracts REST routes through the real gateway app (Flask test client) to the running
service: money as strings, problem+json naming the field, and the OpenAPI description."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from salesgrid_common.clock import FakeClock
from salesgrid_contracts.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from contracts_fixtures import REP_PERMS

PERMS = {**REP_PERMS, "products:create": "all"}  # a rep who may also add products


async def test_contracts_rest_routes(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=clock) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, contracts_addr=running.address))
        )
        token = test_keys.token(principal("rep-a", "/c/t1/", permissions=PERMS))
        headers = {"Authorization": f"Bearer {token}"}

        def send(method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

        product = await send(
            "post",
            "/v1/products",
            {"sku": "CRM-1", "name": "CRM seat", "prices": [{"currency": "CNY", "amount": "1200.00"}]},
        )
        assert product.status_code == 201, product.get_json()
        body = {
            "customer_id": "cust-1",
            "branch_code": "SH",
            "currency": "CNY",
            "start_date": "2026-04-01",
            "end_date": "2027-03-31",
            "lines": [{"product_id": product.get_json()["id"], "quantity": "2.5"}],
        }
        created = await send("post", "/v1/contracts", body)
        assert created.status_code == 201, created.get_json()
        contract = created.get_json()
        assert (contract["number"], contract["total"]) == ("SH-2026-000001", "3000.00")

        bad = await send("post", "/v1/contracts", body | {"currency": "ZZZ"})
        assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
        assert [e["field"] for e in bad.get_json()["errors"]] == ["currency"]

        plan = await send(
            "put",
            f"/v1/contracts/{contract['id']}/payment-plan",
            {
                "instalments": [
                    {"due_date": "2026-04-01", "amount": "1000.00"},
                    {"due_date": "2026-05-01", "amount": "2000.00"},
                ]
            },
        )
        assert plan.status_code == 200, plan.get_json()
        assert [i["amount"] for i in plan.get_json()["instalments"]] == ["1000.00", "2000.00"]
        refused = await send("post", "/v1/receipts", {"contract_id": contract["id"], "amount": "10.00"})
        assert 400 <= refused.status_code < 500  # not signed yet

        listed = await send("get", "/v1/contracts")
        assert [c["id"] for c in listed.get_json()["items"]] == [contract["id"]]
        counted = await send("get", "/v1/contracts?include_total=true&limit=1")
        assert (counted.get_json()["total"], "total" in listed.get_json()) == (1, False)

        # approval rules of a unit that does not exist: 404 naming the unit, not the defaults
        admin = test_keys.token(principal("admin", "/c/", permissions={"org_units:read": "all"}))
        unknown = await asyncio.to_thread(
            client.get, "/v1/approval-rules/no-such-unit", headers={"Authorization": f"Bearer {admin}"}
        )
        assert (unknown.status_code, unknown.mimetype) == (404, "application/problem+json"), unknown.get_json()
        assert [e["field"] for e in unknown.get_json()["errors"]] == ["unit_id"]
        ageing = await send("get", "/v1/receivables/ageing?as_of=2026-06-01")
        assert ageing.status_code == 200 and ageing.get_json()["as_of"] == "2026-06-01"

        paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
        for path in (
            "/v1/products",
            "/v1/contracts/{contract_id}/terminate",
            "/v1/receipts",
            "/v1/contracts/{contract_id}/payment-plan",
            "/v1/receivables/ageing",
        ):
            assert path in paths, path
