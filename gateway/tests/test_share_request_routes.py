"""Share-request routes and the 409 duplicate body through the gateway."""

from __future__ import annotations

import asyncio

from salesgrid_dev.testing import stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from customers_fixtures import running_customers
from test_customers_share_requests import seed, who


async def test_share_request_routes_and_the_409_body_through_the_gateway(
    database_url: str, nats_url: str, test_keys
) -> None:  # type: ignore[no-untyped-def]
    async with (
        stand_in_identity(test_keys) as identity_addr,
        running_customers(database_url, nats_url, test_keys) as running,
    ):
        await seed(running)
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, customers_addr=running.address))
        )

        def headers(user_id: str) -> dict[str, str]:
            return {"Authorization": who(test_keys, user_id)[0][1]}

        def post(path: str, body: dict, user_id: str):  # type: ignore[no-untyped-def,type-arg]
            return asyncio.to_thread(client.post, path, json=body, headers=headers(user_id))

        created = await post("/v1/customers", {"legal_name": "华为技术有限公司"}, "rep-a")
        assert created.status_code == 201, created.get_json()
        customer_id = created.get_json()["id"]
        dup = await post("/v1/customers", {"legal_name": "华为技术（深圳）有限公司"}, "rep-c")
        assert dup.status_code == 409 and dup.mimetype == "application/problem+json"
        assert dup.get_json()["info"] == {
            "existing_customer_id": customer_id,
            "existing_owner_id": "rep-a",
            "existing_owner_name": "王芳",
            "existing_owner_unit_id": "t1",
            "existing_owner_unit": "华东一组",
        }

        near = await post("/v1/customers", {"legal_name": "华为技术服务有限公司"}, "rep-c")
        assert [(w["owner_name"], w["owner_unit_name"]) for w in near.get_json()["duplicate_warnings"]] == [
            ("王芳", "华东一组")
        ]

        asked = await post(f"/v1/customers/{customer_id}/share-requests", {"message": "同一个项目"}, "rep-c")
        assert asked.status_code == 201 and asked.get_json()["owner"]["display_name"] == "王芳"
        request_id = asked.get_json()["id"]
        incoming = await asyncio.to_thread(client.get, "/v1/share-requests?status=pending", headers=headers("rep-a"))
        assert [r["id"] for r in incoming.get_json()["items"]] == [request_id]
        bad = await asyncio.to_thread(client.get, "/v1/share-requests?box=sideways", headers=headers("rep-a"))
        assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "box"
        declined = await post(f"/v1/share-requests/{request_id}/decline", {"note": "no"}, "rep-a")
        assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
        again = await post(f"/v1/share-requests/{request_id}/accept", {}, "mgr")
        assert again.status_code == 422
        read = await asyncio.to_thread(client.get, f"/v1/share-requests/{request_id}", headers=headers("rep-c"))
        assert read.get_json()["decision_note"] == "no"
        paths = (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
        assert {"/v1/customers/{customer_id}/share-requests", "/v1/share-requests/{request_id}/accept"} <= set(paths)
