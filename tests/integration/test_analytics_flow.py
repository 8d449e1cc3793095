"""Analytics end to end on the real platform: a branch with a manager and two reps created as
admin; customers, follow-ups and opportunities created through the gateway as the reps (so by
the customers, activities and pipeline services); the manager's performance and dashboard, built
by analytics from those services' events only, end up equal to what was created; a rep sees only
himself; a subtree outside the caller's scope is a 403; a range that ends before it starts a 400."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from salesgrid_dev.api import auth, created, poll

PASSWORD = "Field-Sales-2026"


def test_analytics_numbers_match_what_was_created(api: httpx.Client, admin_token: str) -> None:
    admin = auth(admin_token)
    suffix = uuid.uuid4().hex[:8]
    root = next(u for u in api.get("/v1/org-units", headers=admin).json()["items"] if not u["parent_id"])
    branch = created(api.post("/v1/org-units", headers=admin, json={
        "parent_id": root["id"], "name": f"Analytics {suffix}", "time_zone": "Asia/Shanghai", "currency": "CNY"}))

    def person(login: str, role: str, manager_id: str = "") -> tuple[dict[str, Any], dict[str, str]]:
        body = created(api.post("/v1/users", headers=admin, json={
            "login": f"{login}.{suffix}", "display_name": login.title(), "unit_id": branch["id"], "roles": [role],
            "manager_id": manager_id, "initial_password": PASSWORD}))
        reply = api.post("/v1/auth/login", json={"login": f"{login}.{suffix}", "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        return body, auth(reply.json()["access_token"])

    manager, as_manager = person("an-mgr", "manager")
    rep1, as_rep1 = person("an-rep1", "rep", manager["id"])
    rep2, as_rep2 = person("an-rep2", "rep", manager["id"])

    # What the reps create: rep1 two customers, rep2 one; a follow-up and an opportunity on each.
    plan = {rep1["id"]: (as_rep1, 2), rep2["id"]: (as_rep2, 1)}
    amounts = iter(("120000.00", "80000.00", "50000.00"))
    opportunities: dict[str, list[dict[str, Any]]] = {rep1["id"]: [], rep2["id"]: []}
    now = datetime.now(UTC)
    for rep_id, (headers, count) in plan.items():
        for n in range(count):
            # the rep reaches the customers service's directory replica asynchronously
            name = f"分析{suffix}{rep_id[-4:]}第{n}号机械有限公司"

            def create_customer(headers: dict[str, str] = headers, name: str = name) -> dict[str, Any] | None:
                reply = api.post("/v1/customers", headers=headers, json={"legal_name": name})
                return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

            customer = poll(create_customer)
            created(api.post("/v1/follow-ups", headers=headers, json={
                "kind": "call", "occurred_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "notes": "first call",
                "customer_id": customer["id"]}))
            opportunities[rep_id].append(created(api.post("/v1/opportunities", headers=headers, json={
                "customer_id": customer["id"], "name": f"Line {n}", "amount": {"amount": next(amounts),
                                                                                "currency": "CNY"},
                "expected_close_date": f"{now.year + 1}-06-30"})))

    year = str(datetime.now(ZoneInfo("Asia/Shanghai")).year)  # the branch's year
    expected = {rep_id: (count, count) for rep_id, (_, count) in plan.items()}

    def performance() -> dict[str, tuple[int, int]] | None:
        reply = api.get(f"/v1/analytics/performance?period={year}", headers=as_manager)
        assert reply.status_code == 200, reply.text
        rows = {r["key"]: (r.get("new_customers", 0), r.get("follow_ups", 0)) for r in reply.json().get("rows", [])}
        return rows if rows == expected else None

    poll(performance, timeout=20)

    stage = opportunities[rep1["id"]][0]["stage"]
    total = sum(Decimal(o["amount"]["amount"]) for ops in opportunities.values() for o in ops)

    def dashboard() -> dict[str, Any] | None:
        reply = api.get(f"/v1/analytics/dashboard?period={year}", headers=as_manager)
        assert reply.status_code == 200, reply.text
        board = reply.json()
        stages = {s["stage"]: s for s in board["funnel"].get("stages", [])}
        entered = stages.get(stage, {})
        done = (entered.get("entered") == 3 and Decimal(entered.get("amount", "0")) == total
                and [(t["key"], t.get("new_customers"), t.get("follow_ups")) for t in board["totals"]]
                == [(branch["path"], 3, 3)])
        return board if done else None

    board = poll(dashboard, timeout=20)
    assert board["subtree"] == branch["path"]
    assert {e["key"] for e in board["top_reps"]} <= {rep1["id"], rep2["id"]}

    # A rep sees only himself, and nothing beyond.
    mine = api.get(f"/v1/analytics/performance?period={year}", headers=as_rep2)
    assert mine.status_code == 200, mine.text
    assert [(r["key"], r["new_customers"], r["follow_ups"]) for r in mine.json()["rows"]] == [(rep2["id"], 1, 1)]
    other = api.get(f"/v1/analytics/performance?period={year}&rep_id={rep1['id']}", headers=as_rep2)
    assert other.status_code == 403, other.text

    # The manager's scope is his branch: the company above it is refused, naming it.
    outside = api.get(f"/v1/analytics/performance?period={year}&subtree={root['path']}", headers=as_manager)
    assert outside.status_code == 403 and outside.headers["Content-Type"] == "application/problem+json"
    assert root["path"].strip("/") in outside.json()["detail"]
    backwards = api.get(f"/v1/analytics/funnel?from={year}-05&to={year}-04", headers=as_manager)
    assert backwards.status_code == 400 and [e["field"] for e in backwards.json()["errors"]] == ["to"]
