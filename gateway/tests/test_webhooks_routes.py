"""The webhook subscription REST routes through the real gateway app (Flask test client) to the
running service: each answer's ETag is the subscription's version; a change with a stale If-Match
is 412 and changes nothing; without one it is unchecked (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_webhooks.app import DEFINITION, MIGRATIONS
from salesgrid_webhooks.settings import WebhooksSettings

from webhooks_fixtures import ADMIN


async def test_subscription_changes_take_if_match(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            settings_cls=WebhooksSettings,
            allow_http_endpoints=True,
        ) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, webhooks_addr=running.address))
        )
        headers = {"Authorization": f"Bearer {test_keys.token(principal('admin-1', '/c/', permissions=ADMIN))}"}

        def send(method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(
                getattr(client, method), path, headers={**headers, **kwargs.pop("extra", {})}, **kwargs
            )

        created = await send(
            "post",
            "/v1/webhooks",
            json={"url": "http://127.0.0.1:9/erp", "event_types": ["salesgrid.customers.customer.*"]},
        )
        assert created.status_code == 201, created.get_json()
        sub = created.get_json()
        assert sub["version"] == 1 and sub["secret"].startswith("whsec_") and created.headers["ETag"] == '"1"'
        path = f"/v1/webhooks/{sub['id']}"
        got = await send("get", path)
        assert got.headers["ETag"] == '"1"'

        patched = await send("patch", path, json={"description": "erp"}, extra={"If-Match": '"1"'})
        assert patched.status_code == 200 and patched.headers["ETag"] == '"2"', patched.get_json()
        stale = await send("patch", path, json={"description": "lost"}, extra={"If-Match": '"1"'})
        assert stale.status_code == 412, stale.get_json()  # a stale If-Match: Precondition Failed
        assert stale.get_json()["code"] == "STALE_VERSION"
        rotated_stale = await send("post", path + "/rotate-secret", extra={"If-Match": '"1"'})
        assert rotated_stale.status_code == 412
        gone_stale = await send("delete", path, extra={"If-Match": '"1"'})
        assert gone_stale.status_code == 412
        kept = (await send("get", path)).get_json()
        assert (kept["description"], kept["version"]) == ("erp", 2)

        unchecked = await send("patch", path, json={"enabled": False})  # no If-Match: no check
        assert unchecked.status_code == 200 and unchecked.headers["ETag"] == '"3"'
        rotated = await send("post", path + "/rotate-secret", extra={"If-Match": '"3"'})
        assert rotated.status_code == 200 and rotated.get_json()["version"] == 4
        deleted = await send("delete", path, extra={"If-Match": '"4"'})
        assert deleted.status_code == 204
        assert (await send("get", path)).status_code == 404
