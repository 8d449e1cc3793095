"""Idempotency-Key and shared rate limits through real gunicorn gateways on the real platform: the
session gateway and a second replica with two workers and a low limit, sharing NATS key-value."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, UTC

import httpx
from salesgrid_dev.api import auth, person, problem, root_unit
from salesgrid_dev.platform import Platform
from salesgrid_dev.processes import free_port

LIMIT = 40


def test_idempotency_key_and_rate_limits_hold_across_workers_and_replicas(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    user_id, token = person(api, admin_token, root_unit(api, admin_token)["id"], f"partner.{suffix}", "rep")
    as_user = auth(token)
    body = {
        "kind": "call",
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "notes": f"idempotent {suffix}",
        "customer_id": f"cust-{suffix}",
    }

    def post(client: httpx.Client, key: str, json: dict = body) -> httpx.Response:  # type: ignore[type-arg]
        return client.post("/v1/follow-ups", headers={**as_user, "Idempotency-Key": key}, json=json)

    # A retry replays the first response; a different body under the key is 422 naming it.
    first = post(api, f"k1-{suffix}")
    assert first.status_code == 201, first.text
    retry = post(api, f"k1-{suffix}")
    assert retry.status_code == 201 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    problem(post(api, f"k1-{suffix}", {**body, "notes": "other"}), 422, "Idempotency-Key")
    assert f"k1-{suffix}" in post(api, f"k1-{suffix}", {**body, "notes": "other"}).json()["detail"]

    # Concurrent requests with one key execute once; the others wait (409) or get the replay.
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: post(api, f"k2-{suffix}"), range(8)))
    assert {r.status_code for r in replies} <= {201, 409}, [r.text for r in replies]
    ids = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(ids) == 1
    assert all(r.headers.get("Retry-After") == "1" for r in replies if r.status_code == 409)
    listed = api.get(f"/v1/follow-ups?customer_id=cust-{suffix}", headers=as_user).json()["items"]
    assert sorted(f["id"] for f in listed) == sorted({first.json()["id"], *ids})

    # Another replica (two workers of its own) sees the same records and the same counters.
    port = free_port()
    replica = platform.run_gateway(port, 2, SALESGRID_RATE_LIMIT_PER_MINUTE=str(LIMIT))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as other:
            again = post(other, f"k1-{suffix}")
            assert again.status_code == 201 and again.json() == first.json()
            assert again.headers["Idempotent-Replayed"] == "true"

            # Never more than the advertised limit per window, whichever worker serves (a fresh
            # principal: the counter is per principal across replicas).
            _, other_token = person(api, admin_token, root_unit(api, admin_token)["id"], f"limited.{suffix}", "rep")
            if 60 - time.time() % 60 < 15:
                time.sleep(60 - time.time() % 60 + 0.5)  # all requests in one window
            with ThreadPoolExecutor(6) as pool:
                hits = list(pool.map(lambda _: other.get("/v1/me", headers=auth(other_token)), range(LIMIT + 30)))
            served = [h for h in hits if h.status_code == 200]
            refused = [h for h in hits if h.status_code == 429]
            assert len(served) <= LIMIT and len(served) + len(refused) == len(hits)
            assert len(served) >= LIMIT - 2 * 2  # at most one small batch parked per worker
            assert served[0].headers["RateLimit-Policy"] == f"{LIMIT};w=60"
            assert int(refused[0].headers["Retry-After"]) <= 60
            assert refused[0].headers["Content-Type"] == "application/problem+json"
    finally:
        replica.terminate()
        replica.wait(15)
    assert user_id


def test_an_admin_sets_a_partner_keys_own_limit(api: httpx.Client, admin_token: str) -> None:
    admin = auth(admin_token)
    unit = root_unit(api, admin_token)["id"]
    permissions = [{"name": "customers:read", "scope": "all"}]
    problem(
        api.post(
            "/v1/api-keys",
            headers=admin,
            json={"name": "erp-bad", "unit_id": unit, "permissions": permissions, "rate_limit_per_minute": -1},
        ),
        400,
        "rate_limit_per_minute",
    )
    key = api.post(
        "/v1/api-keys",
        headers=admin,
        json={
            "name": f"erp-{uuid.uuid4().hex[:6]}",
            "unit_id": unit,
            "permissions": permissions,
            "rate_limit_per_minute": 15,
        },
    )
    assert key.status_code == 201 and key.json()["key"]["rate_limit_per_minute"] == 15, key.text
    if 60 - time.time() % 60 < 10:
        time.sleep(60 - time.time() % 60 + 0.5)
    hits = [api.get("/v1/customers", headers={"X-API-Key": key.json()["secret"]}) for _ in range(20)]
    assert [h.status_code for h in hits] == [200] * 15 + [429] * 5
    assert hits[0].headers["RateLimit-Policy"] == "15;w=60"

    # The admin changes the live key's limit (no new key); gateways apply it from the key's next
    # token exchange (within a minute). Bad input names the field.
    key_id = key.json()["key"]["id"]
    problem(
        api.put(f"/v1/api-keys/{key_id}/rate-limit", headers=admin, json={"rate_limit_per_minute": 2_000_000}),
        400,
        "rate_limit_per_minute",
    )
    raised = api.put(f"/v1/api-keys/{key_id}/rate-limit", headers=admin, json={"rate_limit_per_minute": 40})
    assert raised.status_code == 200 and raised.json()["rate_limit_per_minute"] == 40, raised.text
    listed = {k["id"]: k for k in api.get("/v1/api-keys", headers=admin).json()["items"]}
    assert listed[key_id]["rate_limit_per_minute"] == 40
