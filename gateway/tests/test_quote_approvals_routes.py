"""The special-discount REST routes through the real gateway app to the running pipeline service
(SQLite and PostgreSQL): problem+json naming the field for bad input, the policy inherited down
the tree, an unknown quote named."""

from __future__ import annotations

import asyncio

from datetime import UTC, datetime

from salesgrid_dev.directory_seed import add_unit, replica
from salesgrid_dev.testing import TestKeys, principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = {"org_units:update": "all", "org_units:read": "all", "quotes:approve": "all"}


async def test_discount_policy_and_decision_routes(database_url: str, nats_url: str, test_keys: TestKeys) -> None:
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running,
    ):
        async with replica(running) as session:
            await add_unit(session, "c", "/c/", at=START)
            await add_unit(session, "r1", "/c/r1/", parent_id="c", at=START)
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, pipeline_addr=running.address))
        )
        headers = {"Authorization": f"Bearer {test_keys.token(principal('admin', '/c/', permissions=ADMIN))}"}

        def send(method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
            return asyncio.to_thread(getattr(client, method), path, json=body, headers=headers)

        bad = await send(
            "put", "/v1/org-units/c/discount-policy", {"threshold_percent": "x", "director_above_percent": "20"}
        )
        assert bad.status_code == 400 and bad.mimetype == "application/problem+json", bad.get_json()
        assert [e["field"] for e in bad.get_json()["errors"]] == ["threshold_percent"]
        saved = await send(
            "put", "/v1/org-units/c/discount-policy", {"threshold_percent": "12", "director_above_percent": "25"}
        )
        assert saved.status_code == 200, saved.get_json()
        inherited = (await send("get", "/v1/org-units/r1/discount-policy")).get_json()
        assert (inherited["threshold_percent"], inherited["director_above_percent"], inherited["inherited"]) == (
            "12",
            "25",
            True,
        )
        unknown = await send("post", "/v1/quotes/nope/discount-approval/approve", {})
        assert unknown.status_code == 404 and "quote_id" in str(unknown.get_json()), unknown.get_json()
        assert (await send("get", "/v1/quote-approvals")).get_json()["items"] == []
