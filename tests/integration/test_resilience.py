"""Resilience on the real platform (issue 19): a service that is down is an outage for the
client, 503 with Retry-After, and serves again once restarted; a consumer killed -9 during a burst
of events converges within 5 s of its restart (short ack_wait), nothing applied twice."""

from __future__ import annotations

import sqlite3
import time
import uuid

import httpx
from salesgrid_dev.api import auth, created, money, org_unit, person, root_unit
from salesgrid_dev.platform import Platform


def test_customers_down_is_503_with_retry_after_then_serves_again(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    unit_id = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"故障测试组 {suffix}")["id"]
    _, token = person(api, admin_token, unit_id, f"outage-rep-{suffix}", "rep")
    rep = auth(token)
    customer_id = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"停机{suffix}有限公司"}))["id"]
    opportunity = {
        "customer_id": customer_id,
        "name": "During the outage",
        "amount": money("100"),
        "expected_close_date": "2027-06-30",
    }
    platform.kill("customers")  # kill -9
    try:
        for reply in (
            api.post("/v1/opportunities", headers=rep, json=opportunity),  # pipeline → customers
            api.get("/v1/customers", headers=rep),
        ):  # gateway → customers
            assert reply.status_code == 503, reply.text
            assert reply.headers["Retry-After"] == "2"
            assert reply.headers["content-type"].startswith("application/problem+json")
    finally:
        platform.start_service("customers")
    # A client retrying after Retry-After gets through within seconds of the restart (callers'
    # reconnect back-off is capped at 2 s).
    restarted = time.monotonic()
    while (reply := api.post("/v1/opportunities", headers=rep, json=opportunity)).status_code == 503:
        assert time.monotonic() - restarted < 5, reply.text
        time.sleep(0.5)
    created(reply)


def inbox(platform: Platform, service: str, event_type: str) -> tuple[int, int]:
    """(rows, distinct events) of the service's directory consumer for one event type."""
    with sqlite3.connect(platform.data_dir / "db" / f"{service}.db") as db:
        rows, distinct = db.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM inbox WHERE consumer = ? AND event_type = ?",
            (f"{service}-directory", event_type),
        ).fetchone()
    return int(rows), int(distinct)


def test_a_consumer_killed_during_a_burst_converges_within_five_seconds(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    kind = "salesgrid.identity.user.created"
    before, _ = inbox(platform, "activities", kind)
    unit_id = root_unit(api, admin_token)["id"]
    suffix = uuid.uuid4().hex[:8]
    for i in range(15):
        person(api, admin_token, unit_id, f"burst-{suffix}-{i}", "rep")
    platform.kill("activities")  # kill -9, possibly holding delivered, unacknowledged events
    platform.start_service("activities")  # returns once SERVING
    restarted = time.monotonic()
    while inbox(platform, "activities", kind)[0] < before + 15 and time.monotonic() - restarted < 10:
        time.sleep(0.05)
    converged = time.monotonic() - restarted
    rows, distinct = inbox(platform, "activities", kind)
    assert rows == distinct == before + 15
    assert converged < 5.0, f"converged {converged:.1f}s after the restart"
