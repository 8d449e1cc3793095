"""Analytics end to end on the real platform: a branch with a manager and two reps created as
admin; customers (with address coordinates), follow-ups, opportunities (one advanced through every
gate and won), check-ins (one flagged far away), daily reports and a contract signed and partly
collected, all created through the gateway as the reps (so by the customers, activities, pipeline
and contracts services), and a target set by the manager. Performance, funnel, forecast,
compliance and the dashboard, built by analytics from those services' events only, end up equal
to what was created; a CSV export matches them and lands in the audit trail; a rep sees only
himself; a subtree outside the caller's scope is a 403; a range that ends before it starts a 400."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from salesgrid_dev.api import (
    WIN_FACTS,
    auth,
    created,
    gate_facts,
    money,
    poll,
)

PASSWORD = "Field-Sales-2026"
AT = {"latitude": 31.2400, "longitude": 121.4900}  # every customer's address
NEAR, FAR = 31.2404, 31.2580  # ~45 m and ~2 km north of it


GATES = gate_facts("200000", "120000", "120000")
TO_WIN = WIN_FACTS


def test_analytics_numbers_match_what_was_created(api: httpx.Client, admin_token: str) -> None:
    admin = auth(admin_token)
    suffix = uuid.uuid4().hex[:8]
    root = next(u for u in api.get("/v1/org-units", headers=admin).json()["items"] if not u["parent_id"])
    branch = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={
                "parent_id": root["id"],
                "name": f"Analytics {suffix}",
                "time_zone": "Asia/Shanghai",
                "currency": "CNY",
            },
        )
    )

    def person(login: str, role: str, manager_id: str = "") -> tuple[dict[str, Any], dict[str, str]]:
        body = created(
            api.post(
                "/v1/users",
                headers=admin,
                json={
                    "login": f"{login}.{suffix}",
                    "display_name": login.title(),
                    "unit_id": branch["id"],
                    "roles": [role],
                    "manager_id": manager_id,
                    "initial_password": PASSWORD,
                    "password_change_required": False,
                },
            )
        )
        reply = api.post("/v1/auth/login", json={"login": f"{login}.{suffix}", "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        return body, auth(reply.json()["access_token"])

    manager, as_manager = person("an-mgr", "manager")
    rep1, as_rep1 = person("an-rep1", "rep", manager["id"])
    rep2, as_rep2 = person("an-rep2", "rep", manager["id"])
    reps = {rep1["id"]: as_rep1, rep2["id"]: as_rep2}

    # What the reps create: rep1 two customers, rep2 one; a follow-up and an opportunity on each.
    plan = {rep1["id"]: 2, rep2["id"]: 1}
    amounts = iter(("120000.00", "100000.00", "50000.00"))
    opportunities: dict[str, list[dict[str, Any]]] = {rep1["id"]: [], rep2["id"]: []}
    customers: dict[str, list[dict[str, Any]]] = {rep1["id"]: [], rep2["id"]: []}
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    for rep_id, count in plan.items():
        headers = reps[rep_id]
        for n in range(count):
            # the rep reaches the customers service's directory replica asynchronously
            name = f"分析{suffix}{rep_id[-4:]}第{n}号机械有限公司"

            def create_customer(headers: dict[str, str] = headers, name: str = name) -> dict[str, Any] | None:
                reply = api.post(
                    "/v1/customers",
                    headers=headers,
                    json={"legal_name": name, "address": {"text": "中山东一路 1 号", **AT}},
                )
                return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

            customer = poll(create_customer)
            customers[rep_id].append(customer)
            created(
                api.post(
                    "/v1/follow-ups",
                    headers=headers,
                    json={"kind": "call", "occurred_at": stamp, "notes": "first call", "customer_id": customer["id"]},
                )
            )
            opportunities[rep_id].append(
                created(
                    api.post(
                        "/v1/opportunities",
                        headers=headers,
                        json={
                            "customer_id": customer["id"],
                            "name": f"Line {n}",
                            "amount": money(next(amounts)),
                            "expected_close_date": f"{now.year + 1}-06-30",
                        },
                    )
                )
            )

    # rep1 wins his first opportunity, gate by gate.
    winner = opportunities[rep1["id"]][0]
    version = winner["version"]
    for stage, facts in GATES:
        moved = created(
            api.post(
                f"/v1/opportunities/{winner['id']}/advance",
                headers={**as_rep1, "If-Match": f'"{version}"'},
                json={"facts": facts},
            ),
            200,
        )
        assert moved["stage"] == stage
        version = moved["version"]
    won = created(api.post(f"/v1/opportunities/{winner['id']}/won", headers=as_rep1, json={"facts": TO_WIN}), 200)
    assert won["status"] == "won"
    # rep1's 100,000 deal goes as far as formal communication (正式沟通).
    talking = opportunities[rep1["id"]][1]
    for stage, facts in GATES[:2]:
        moved = created(
            api.post(f"/v1/opportunities/{talking['id']}/advance", headers=as_rep1, json={"facts": facts}), 200
        )
    assert (moved["stage"], Decimal(moved["amount"]["amount"])) == ("formal_communication", Decimal(100000))

    # rep1 signs an 80,000 contract (within the manager's approval limit) and collects 30,000 of it.
    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={"sku": f"AN-{suffix}", "name": "Analytics licence", "prices": [money("40000.00")]},
        )
    )
    today = now.date()
    contract = created(
        api.post(
            "/v1/contracts",
            headers=as_rep1,
            json={
                "customer_id": customers[rep1["id"]][0]["id"],
                "branch_code": "IT",
                "currency": "CNY",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=365)).isoformat(),
                "lines": [{"product_id": product["id"], "quantity": "2"}],
            },
        )
    )
    cid, contract_amount = contract["id"], Decimal(contract["total"])
    assert contract_amount == Decimal("80000.00")

    def submit() -> dict[str, Any] | None:  # the approval chain needs contracts' replica of the users
        reply = api.post(f"/v1/contracts/{cid}/submit", headers=as_rep1)
        return reply.json() if reply.status_code == 200 else None  # type: ignore[no-any-return]

    steps = poll(submit)["approval_steps"]
    assert [(s["approver_id"], s["role"]) for s in steps] == [(manager["id"], "manager")]
    assert created(api.post(f"/v1/contracts/{cid}/approve", headers=as_manager, json={}), 200)["status"] == "approved"
    assert created(api.post(f"/v1/contracts/{cid}/sign", headers=as_rep1), 200)["status"] == "signed"
    created(
        api.put(
            f"/v1/contracts/{cid}/payment-plan",
            headers=as_rep1,
            json={
                "instalments": [
                    {"due_date": (today + timedelta(days=30)).isoformat(), "amount": "30000.00"},
                    {"due_date": (today + timedelta(days=60)).isoformat(), "amount": "50000.00"},
                ]
            },
        ),
        200,
    )
    collected = Decimal("30000.00")
    created(
        api.post(
            "/v1/receipts",
            headers=as_rep1,
            json={"contract_id": cid, "amount": str(collected), "method": "bank_transfer", "reference": f"TX-{suffix}"},
        )
    )

    # Visits: rep2 at his customer's door until its coordinates have reached activities (a check-in
    # before that is flagged "no reference", and counted as flagged too), then one 2 km away.
    visits = {rep_id: [0, 0] for rep_id in reps}  # [unflagged, flagged]

    def check_in(rep_id: str, latitude: float) -> dict[str, Any]:
        reading = {"latitude": latitude, "longitude": AT["longitude"], "accuracy_m": 10, "device_time": stamp}
        visit = created(
            api.post(
                "/v1/check-ins",
                headers=reps[rep_id],
                json={"customer_id": customers[rep_id][0]["id"], "reading": reading},
            )
        )
        created(
            api.post(f"/v1/check-ins/{visit['id']}/check-out", headers=reps[rep_id], json={"reading": reading}), 200
        )
        visits[rep_id][bool(visit["flagged"])] += 1
        return visit  # type: ignore[no-any-return]

    poll(lambda: not check_in(rep2["id"], NEAR)["flagged"])
    check_in(rep1["id"], NEAR)
    away = check_in(rep1["id"], FAR)
    assert away["flagged"] and away["check_in"]["flags"] == ["too_far"]
    assert visits[rep1["id"]] == [1, 1]

    # One daily report each; on time or late depends on the hour in Shanghai, so it is read back.
    # The deadline is the rep's branch's: activities refuses a report (422, "try again shortly")
    # until its directory replica holds the rep, which arrives asynchronously like the others.
    def report(headers: dict[str, str]) -> dict[str, Any] | None:
        reply = api.post("/v1/daily-reports", headers=headers, json={"summary": "visits done"})
        if reply.status_code == 422 and "not known to activities yet" in reply.text:
            return None
        return created(reply)  # type: ignore[no-any-return]

    reports = {rep_id: poll(lambda headers=headers: report(headers)) for rep_id, headers in reps.items()}
    timing = {rep_id: (int(r["status"] == "on_time"), int(r["status"] == "late")) for rep_id, r in reports.items()}

    # The manager's yearly contract-amount target for the branch, split between the reps.
    year = str(datetime.now(ZoneInfo("Asia/Shanghai")).year)  # the branch's year
    target = Decimal("1200000.00")
    goal = {"metric": "contract_amount", "period": year, "org_path": branch["path"], "currency": "CNY"}
    created(
        api.post(
            "/v1/targets",
            headers=as_manager,
            json={
                "parent": goal | {"amount": str(target)},
                "children": [
                    goal | {"rep_id": rep1["id"], "amount": "800000.00"},
                    goal | {"rep_id": rep2["id"], "amount": "400000.00"},
                ],
            },
        ),
        200,
    )

    # --- what analytics says, once every event has been projected ---------------------------
    fields = (
        "contract_amount",
        "collections",
        "new_customers",
        "follow_ups",
        "visits",
        "flagged_visits",
        "reports_on_time",
        "reports_late",
        "receivables_outstanding",
        "gate_violations",
    )
    money_fields = {"contract_amount", "collections", "receivables_outstanding"}

    def line(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(Decimal(row[f]) if f in money_fields else int(row[f]) for f in fields)

    expected = {
        rep_id: (
            contract_amount if rep_id == rep1["id"] else Decimal(0),
            collected if rep_id == rep1["id"] else Decimal(0),
            count,
            count,
            *visits[rep_id],
            *timing[rep_id],
            contract_amount - collected if rep_id == rep1["id"] else Decimal(0),
            0,
        )
        for rep_id, count in plan.items()
    }

    def performance() -> dict[str, Any] | None:
        reply = api.get(f"/v1/analytics/performance?period={year}", headers=as_manager)
        assert reply.status_code == 200, reply.text
        rows = {r["key"]: line(r) for r in reply.json()["rows"]}
        return rows if rows == expected else None

    poll(performance, timeout=20)

    stage = opportunities[rep2["id"]][0]["stage"]
    pipeline = sum(Decimal(o["amount"]["amount"]) for ops in opportunities.values() for o in ops)
    branch_total = tuple(sum(column) for column in zip(*expected.values(), strict=True))

    def dashboard() -> dict[str, Any] | None:
        reply = api.get(f"/v1/analytics/dashboard?period={year}", headers=as_manager)
        assert reply.status_code == 200, reply.text
        board = reply.json()
        entered = {s["stage"]: s for s in board["funnel"]["stages"]}.get(stage, {})
        done = (
            entered.get("entered") == 3
            and Decimal(entered.get("amount", "0")) == pipeline
            and board["funnel"]["won"] == 1
            and [(t["key"], line(t)) for t in board["totals"]] == [(branch["path"], branch_total)]
            and board["targets"]
        )
        return board if done else None

    board = poll(dashboard, timeout=20)
    assert board["subtree"] == branch["path"]
    assert [(e["rank"], e["key"], Decimal(e["value"])) for e in board["top_reps"]] == [
        (1, rep1["id"], contract_amount),
        (2, rep2["id"], Decimal(0)),
    ]
    assert Decimal(board["funnel"]["won_amount"]) == Decimal(winner["amount"]["amount"])
    assert [
        (t["metric"], Decimal(t["amount"]), Decimal(t["actual"]), Decimal(t["attainment"])) for t in board["targets"]
    ] == [
        (
            "contract_amount",
            target,
            contract_amount,
            (contract_amount / target).quantize(Decimal("0.0001"), ROUND_HALF_UP),
        )
    ]
    assert [(u["org_path"], u["new_users"]) for u in board["new_users"]] == [(branch["path"], 3)]

    # Forecast: the won deal this year against the yearly target; the open ones close next year.
    forecast = created(api.get(f"/v1/analytics/forecast?period={year}", headers=as_manager), 200)["total"]
    assert {k: Decimal(forecast[k]) for k in ("won", "weighted_pipeline", "target", "gap")} == {
        "won": Decimal(winner["amount"]["amount"]),
        "weighted_pipeline": 0,
        "target": target,
        "gap": target - Decimal(winner["amount"]["amount"]),
    }
    funnel = created(api.get(f"/v1/analytics/funnel?period={year}", headers=as_manager), 200)
    assert (funnel["won"], funnel["lost"], Decimal(funnel["win_rate"])) == (1, 0, 1)
    # The funnel lists every open stage of pipeline's default model, in its order, with the counts of
    # what was created: 3 entered the opportunity stage; the winner and the 100,000 deal went on to
    # approval and formal communication; only the winner beyond.
    model = created(api.get("/v1/stage-models/default", headers=as_manager), 200)
    open_stages = [st["code"] for st in model["stages"] if not st.get("outcome")]
    assert (funnel["stage_model"], [st["stage"] for st in funnel["stages"]]) == ("default", open_stages)
    expected_funnel = {
        "lead": (0, 0),
        "opportunity": (3, 2),
        "approval": (2, 2),
        "formal_communication": (2, 1),
        "bidding": (1, 1),
        "result": (1, 1),
    }

    def funnel_counts() -> dict[str, Any] | None:  # the 100,000 deal's moves may still be on their way
        reply = created(api.get(f"/v1/analytics/funnel?period={year}", headers=as_manager), 200)
        return (
            reply
            if {st["stage"]: (st["entered"], st["advanced"]) for st in reply["stages"]} == expected_funnel
            else None
        )

    poll(funnel_counts, timeout=20)
    # One definition of the weighted pipeline: the 100,000 deal weighs 40,000 in both reports.
    next_year = str(int(year) + 1)
    rep1_next = created(
        api.get(f"/v1/analytics/forecast?period={next_year}&rep_id={rep1['id']}", headers=as_manager), 200
    )["total"]
    assert Decimal(rep1_next["weighted_pipeline"]) == Decimal("40000.00")
    buckets = created(api.get("/v1/forecast?group_by=owner", headers=as_manager), 200)["items"]
    rep1_bucket = next(b for b in buckets if b["key"] == rep1["id"] and b["month"] == f"{next_year}-06")
    assert Decimal(rep1_bucket["weighted_amount"]) - Decimal(rep1_bucket["won_amount"]) == Decimal("40000.00")

    # Compliance: each rep's one report, on time or late as activities decided; none missing yet.
    compliance = created(api.get(f"/v1/analytics/compliance?period={year}", headers=as_manager), 200)
    assert {r["key"]: (r["on_time"], r["late"], r["missing"]) for r in compliance["rows"]} == {
        rep_id: (*timing[rep_id], 0) for rep_id in reps
    }
    assert (compliance["total"]["due"], compliance["total"]["on_time"]) == (
        2,
        sum(on_time for on_time, _ in timing.values()),
    )

    # The CSV export carries the same rows, and the manager's export is in the audit trail.
    download = api.get(f"/v1/exports?report=performance&format=csv&period={year}", headers=as_manager)
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv"), download.text
    exported = {r["key"]: line(r) for r in csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")))}
    assert exported == expected
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    trend = api.get(f"/v1/exports?report=trend&format=csv&period={year}&metric=contract_amount", headers=as_manager)
    assert trend.status_code == 200, trend.text
    assert {
        r["month"]: Decimal(r["contract_amount"])
        for r in csv.DictReader(io.StringIO(trend.content.decode("utf-8-sig")))
    }[month] == contract_amount
    audit = poll(
        lambda: (lambda page: page if len(page["items"]) >= 2 else None)(
            created(api.get(f"/v1/audit-events?action=analytics.export&actor_id={manager['id']}", headers=admin), 200)
        )
    )
    assert [e["action"] for e in audit["items"]] == ["analytics.export"] * 2
    assert any("report=performance" in e["detail"] for e in audit["items"])

    # A rep sees only himself, and nothing beyond.
    mine = api.get(f"/v1/analytics/performance?period={year}", headers=as_rep2)
    assert mine.status_code == 200, mine.text
    assert [(r["key"], line(r)) for r in mine.json()["rows"]] == [(rep2["id"], expected[rep2["id"]])]
    other = api.get(f"/v1/analytics/performance?period={year}&rep_id={rep1['id']}", headers=as_rep2)
    assert other.status_code == 403, other.text

    # The manager's scope is his branch: the company above it is refused, naming it.
    outside = api.get(f"/v1/analytics/performance?period={year}&subtree={root['path']}", headers=as_manager)
    assert outside.status_code == 403 and outside.headers["Content-Type"] == "application/problem+json"
    assert root["path"].strip("/") in outside.json()["detail"]
    backwards = api.get(f"/v1/analytics/funnel?from={year}-05&to={year}-04", headers=as_manager)
    assert backwards.status_code == 400 and [e["field"] for e in backwards.json()["errors"]] == ["to"]
