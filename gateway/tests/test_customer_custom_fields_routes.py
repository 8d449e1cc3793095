"""Custom fields on customers and contacts through the gateway (REST)."""

from __future__ import annotations

import asyncio


from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from test_customers_custom_fields import ADMIN, who


async def test_custom_fields_through_the_gateway(database_url: str, nats_url: str, test_keys) -> None:
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running,
    ):
        gateway = test_client(
            create_app(
                GatewaySettings(
                    environment="test", identity_addr=identity_addr, customers_addr=running.address, metrics_port=0
                )
            )
        )
        rep = {"Authorization": who(test_keys, "rep-a")[0][1]}
        admin = {"Authorization": who(test_keys, "admin", ADMIN)[0][1]}
        await asyncio.to_thread(_rest_scenario, gateway, rep, admin)


def _rest_scenario(gateway, rep: dict[str, str], admin: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert (
        gateway.post(
            "/v1/custom-fields/customers", json={"key": "seats", "label": "Seats", "type": "number"}, headers=rep
        ).status_code
        == 403
    )
    defined = gateway.post(
        "/v1/custom-fields/customers", json={"key": "seats", "label": "Seats", "type": "number"}, headers=admin
    )
    assert defined.status_code == 201 and defined.json["values_stored"] == 0
    assert gateway.get("/v1/custom-fields/invoices", headers=rep).status_code == 404
    bad = gateway.post("/v1/customers", json={"legal_name": "Acme", "custom_fields": {"seats": "lots"}}, headers=rep)
    assert bad.status_code == 400 and [e["field"] for e in bad.json["errors"]] == ["custom_fields.seats"]
    for digits in (31, 400):  # past the 30 digits of a number field; past a double's range
        huge = gateway.post(
            "/v1/customers",
            data=b'{"legal_name": "Acme", "custom_fields": {"seats": 9%s}}' % (b"9" * digits),
            headers={**rep, "Content-Type": "application/json"},
        )
        assert huge.status_code == 400, huge.json  # refused, never a 500
    created = gateway.post("/v1/customers", json={"legal_name": "Acme", "custom_fields": {"seats": 12}}, headers=rep)
    assert created.status_code == 201 and created.json["custom_fields"] == {"seats": "12"}
    assert [c["legal_name"] for c in gateway.get("/v1/customers?cf_seats=12.0", headers=rep).json["items"]] == ["Acme"]
    assert gateway.get("/v1/customers?cf_seats=13", headers=rep).json["items"] == []
    assert gateway.get("/v1/customers?cf_colour=red", headers=rep).status_code == 400
    assert gateway.delete("/v1/custom-fields/customers/seats", headers=admin).status_code == 422
    changed = gateway.patch(
        "/v1/custom-fields/customers/seats", json={"label": "Licensed seats"}, headers={**admin, "If-Match": '"1"'}
    )
    assert changed.status_code == 200 and changed.json["label"] == "Licensed seats"
    assert gateway.post("/v1/custom-fields/customers/seats/archive", headers=admin).json["active"] is False
    listed = gateway.get("/v1/custom-fields/customers?include_archived=true", headers=rep).json["items"]
    assert [(f["key"], f["active"], f["values_stored"]) for f in listed] == [("seats", False, 1)]
    document = gateway.get("/openapi.json").json
    assert "CustomFields" in document["components"]["schemas"]
    assert "/v1/custom-fields/{entity}" in document["paths"]
    customer = document["paths"]["/v1/customers"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert customer["properties"]["custom_fields"] == {"$ref": "#/components/schemas/CustomFields"}
    assert "cf_<key>" in document["paths"]["/v1/customers"]["get"]["description"]
