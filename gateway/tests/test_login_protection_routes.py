"""Login throttling through the gateway to the identity service: 401s, then 429 with Retry-After
from one address; administrators see and clear the address over REST."""

from __future__ import annotations

import asyncio

from salesgrid_dev.testing import RunningService
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

# `identity`: the service with tight throttling settings and a bootstrapped admin (a fixture)
from test_identity_login_throttling import ADMIN_PASSWORD, identity  # noqa: F401


async def test_login_protection_routes_through_the_gateway(identity: tuple[RunningService, list[float]]) -> None:  # noqa: F811
    running, _ = identity
    client = test_client(create_app(GatewaySettings(environment="test", identity_addr=running.address)))

    def post(path: str, body: dict | None = None, headers: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
        return asyncio.to_thread(client.post, path, json=body or {}, headers=headers or {})

    # The test client's address is 127.0.0.1: fail from it past the address limit of 4.
    for login in ("svc-import", "svc-import", "guess-a", "guess-b"):
        assert (await post("/v1/auth/login", {"login": login, "password": "nope-nope-1"})).status_code == 401
    refused = await post("/v1/auth/login", {"login": "svc-import", "password": "nope-nope-1"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    admin = await post("/v1/auth/login", {"login": "admin", "password": ADMIN_PASSWORD})
    assert admin.status_code == 200  # the clean account's correct password from the same address
    headers = {"Authorization": f"Bearer {admin.get_json()['access_token']}"}
    view = await asyncio.to_thread(client.get, "/v1/login-protection", headers=headers)
    assert view.status_code == 200 and view.get_json()["limits"]["max_failures_per_address"] == 4
    assert [(a["address"], a["failures"]) for a in view.get_json()["addresses"]] == [("127.0.0.1", 4)]
    cleared = await post("/v1/login-protection/addresses/127.0.0.1/clear", headers=headers)
    assert cleared.status_code == 200 and cleared.get_json()["cleared_failures"] == 4
    assert (await post("/v1/auth/login", {"login": "svc-import", "password": "nope-nope-1"})).status_code == 401
    assert (
        "/v1/login-protection/addresses/{address}/clear"
        in (await asyncio.to_thread(client.get, "/openapi.json")).get_json()["paths"]
    )
