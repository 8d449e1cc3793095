"""GET /v1/pool/standing through the gateway to the customers service: after a policy is set,
customers created, released and one claimed over REST, the caller's standing is what the claim
enforces; without pool:read 403, without credentials 401."""

from __future__ import annotations

import asyncio

from salesgrid_customers.app import DEFINITION, MIGRATIONS
from salesgrid_dev.testing import run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

from test_customers_pool_standing import seed, who


async def test_pool_standing_route(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(DEFINITION, MIGRATIONS, database_url, nats_url, test_keys) as running,
    ):
        await seed(running)
        gateway = test_client(
            create_app(
                GatewaySettings(
                    environment="test", identity_addr=identity_addr, customers_addr=running.address, metrics_port=0
                )
            )
        )
        a, b, mgr = ({"Authorization": who(test_keys, u)[0][1]} for u in ("rep-a", "rep-b", "mgr"))
        no_pool = {"Authorization": who(test_keys, "rep-a", {"customers:read": "own"})[0][1]}
        await asyncio.to_thread(_through_the_gateway, gateway, a, b, mgr, no_pool)


def _through_the_gateway(
    gateway, rep: dict[str, str], b: dict[str, str], mgr: dict[str, str], no_pool: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    policy = {"max_customers_per_rep": 3, "max_claims_per_day": 1, "reclaim_cooldown_days": 5, "warning_days_before": 1}
    assert gateway.put("/v1/pool-policies/b1", json=policy, headers=mgr).status_code == 200

    def create(name: str, headers: dict[str, str]) -> str:
        created = gateway.post("/v1/customers", json={"legal_name": name}, headers=headers)
        assert created.status_code == 201, created.json
        return str(created.json["id"])

    create("Kept Ltd", rep)  # he holds one
    cooling_id, theirs = create("Mine Ltd", rep), create("Theirs Ltd", b)
    assert gateway.post(f"/v1/customers/{cooling_id}/release", headers=rep).status_code == 200
    assert gateway.post(f"/v1/customers/{theirs}/release", headers=b).status_code == 200
    assert gateway.post(f"/v1/pool/{theirs}/claim", headers=rep).status_code == 200

    reply = gateway.get("/v1/pool/standing", headers=rep)
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert (
        body["held_count"],
        body["claims_today"],
        body["customers_left"],
        body["claims_left_today"],
        body["can_claim"],
    ) == (2, 1, 1, 0, False)
    assert body["policy"]["max_claims_per_day"] == 1 and body["policy"]["reclaim_cooldown_days"] == 5
    assert [x["customer_id"] for x in body["cool_downs"]] == [cooling_id]
    refused = gateway.get("/v1/pool/standing", headers=no_pool)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert gateway.get("/v1/pool/standing").status_code == 401
