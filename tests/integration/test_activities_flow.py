"""Activities end to end through the gateway on the real platform: a branch with two teams, a
manager and two reps created as admin; a per-branch check-in radius; check-in/out, follow-ups,
tasks and daily reports as a rep and as his manager; another rep's records out of reach; bad
input answered with problem+json naming the field."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
from salesgrid_dev.api import auth, created, poll, problem

PASSWORD = "Field-Sales-2026"


def test_activities_flow(api: httpx.Client, admin_token: str) -> None:
    admin = auth(admin_token)
    suffix = uuid.uuid4().hex[:8]
    root = next(u for u in api.get("/v1/org-units", headers=admin).json()["items"] if not u["parent_id"])
    branch = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={"parent_id": root["id"], "name": f"Berlin {suffix}", "time_zone": "Europe/Berlin", "currency": "EUR"},
        )
    )
    team1, team2 = (
        created(
            api.post(
                "/v1/org-units",
                headers=admin,
                json={"parent_id": branch["id"], "name": f"Team {n} {suffix}", "time_zone": "Europe/Berlin"},
            )
        )
        for n in (1, 2)
    )

    def user(
        login: str, unit: dict[str, Any], role: str, manager_id: str = ""
    ) -> tuple[dict[str, Any], dict[str, str]]:
        body = created(
            api.post(
                "/v1/users",
                headers=admin,
                json={
                    "login": f"{login}.{suffix}",
                    "display_name": login.title(),
                    "unit_id": unit["id"],
                    "roles": [role],
                    "manager_id": manager_id,
                    "initial_password": PASSWORD,
                    "password_change_required": False,
                },
            )
        )
        login_reply = api.post("/v1/auth/login", json={"login": f"{login}.{suffix}", "password": PASSWORD})
        assert login_reply.status_code == 200, login_reply.text
        return body, auth(login_reply.json()["access_token"])

    manager, as_manager = user("mgr", branch, "manager")
    rep, as_rep = user("rep", team1, "rep", manager["id"])
    other, as_other = user("other", team2, "rep", manager["id"])

    # Policies per unit, once identity's events have reached activities.
    poll(lambda: api.get(f"/v1/unit-policies/{team1['id']}", headers=admin).status_code == 200)
    problem(
        api.put(f"/v1/unit-policies/{branch['id']}", headers=admin, json={"check_in_radius_m": -1}),
        400,
        "check_in_radius_m",
    )
    problem(api.put(f"/v1/unit-policies/{branch['id']}", headers=as_manager, json={"check_in_radius_m": 900}), 403)
    policy = api.put(
        f"/v1/unit-policies/{branch['id']}", headers=admin, json={"check_in_radius_m": 900, "report_deadline": "19:00"}
    )
    assert policy.status_code == 200 and policy.headers["ETag"] == '"1"', policy.text
    in_team = api.get(f"/v1/unit-policies/{team1['id']}", headers=admin).json()
    assert in_team["effective"]["check_in_radius_m"] == 900 and in_team["effective"]["report_deadline"] == "19:00"

    # Check-in and check-out; bad coordinates are refused with nothing written.
    customer = f"cust-{suffix}"
    reading = {
        "latitude": 52.52,
        "longitude": 13.405,
        "accuracy_m": 12,
        "device_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    problem(
        api.post(
            "/v1/check-ins", headers=as_rep, json={"customer_id": customer, "reading": reading | {"latitude": 91}}
        ),
        400,
        "latitude",
    )
    visit = created(api.post("/v1/check-ins", headers=as_rep, json={"customer_id": customer, "reading": reading}))
    assert visit["owner_id"] == rep["id"] and visit["check_in"]["flags"] == ["no_reference"]
    problem(api.post(f"/v1/check-ins/{visit['id']}/check-out", headers=as_other, json={"reading": reading}), 404)
    closed = api.post(f"/v1/check-ins/{visit['id']}/check-out", headers=as_rep, json={"reading": reading})
    assert closed.status_code == 200 and closed.json()["check_out"], closed.text
    problem(api.post(f"/v1/check-ins/{visit['id']}/check-out", headers=as_rep, json={"reading": reading}), 422)
    seen = {v["id"] for v in api.get(f"/v1/check-ins?customer_id={customer}", headers=as_manager).json()["items"]}
    assert seen == {visit["id"]}
    assert not api.get(f"/v1/check-ins?customer_id={customer}", headers=as_other).json()["items"]

    created(
        api.post(
            "/v1/follow-ups",
            headers=as_rep,
            json={
                "kind": "visit",
                "occurred_at": reading["device_time"],
                "notes": "met the buyer",
                "customer_id": customer,
            },
        )
    )
    problem(
        api.post(
            "/v1/follow-ups", headers=as_rep, json={"kind": "fax", "occurred_at": reading["device_time"], "notes": "x"}
        ),
        400,
        "kind",
    )

    # The manager hands the rep a task; only the rep answers it, the other rep cannot see it.
    task = created(
        api.post(
            "/v1/tasks",
            headers=as_manager,
            json={"assignee_id": rep["id"], "title": "send the quote", "due_at": "2030-01-01T10:00:00Z"},
        )
    )
    assert task["status"] == "pending_acceptance"
    problem(api.post(f"/v1/tasks/{task['id']}/accept", headers=as_other), 404)
    problem(api.post(f"/v1/tasks/{task['id']}/accept", headers=as_manager), 403)
    accepted = api.post(f"/v1/tasks/{task['id']}/accept", headers=as_rep)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    problem(api.post("/v1/tasks", headers=as_other, json={"assignee_id": rep["id"], "title": "x"}), 403)
    window = "from=2029-12-31T00:00:00Z&to=2030-01-02T00:00:00Z"
    calendar = api.get(f"/v1/calendar?user_id={rep['id']}&{window}", headers=as_manager)
    assert [e["task_id"] for e in calendar.json()["items"]] == [task["id"]], calendar.text
    problem(api.get(f"/v1/calendar?user_id={rep['id']}&{window}", headers=as_other), 403)

    # One daily report per local day; the manager marks it falsified, the other rep may not.
    report = created(api.post("/v1/daily-reports", headers=as_rep, json={"summary": "one visit, quote sent"}))
    assert report["time_zone"] == "Europe/Berlin" and report["status"] in ("on_time", "late")
    problem(api.post("/v1/daily-reports", headers=as_rep, json={"summary": "again"}), 409, "report_date")
    problem(api.post(f"/v1/daily-reports/{report['id']}/falsify", headers=as_other, json={"comment": "no"}), 403)
    assert not api.get(f"/v1/daily-reports?owner_id={rep['id']}", headers=as_other).json()["items"]
    assert [
        r["id"] for r in api.get(f"/v1/daily-reports?owner_id={rep['id']}", headers=as_manager).json()["items"]
    ] == [report["id"]]
    falsified = api.post(
        f"/v1/daily-reports/{report['id']}/falsify", headers=as_manager, json={"comment": "visit not at the customer"}
    )
    assert falsified.status_code == 200 and falsified.json()["falsified"], falsified.text
    created(api.post(f"/v1/daily-reports/{report['id']}/comments", headers=as_manager, json={"body": "which visit?"}))
    problem(api.post(f"/v1/daily-reports/{report['id']}/comments", headers=as_manager, json={"body": " "}), 400, "body")
    comments = api.get(f"/v1/daily-reports/{report['id']}/comments", headers=as_rep).json()["items"]
    assert [(c["author_id"], c["body"]) for c in comments] == [(manager["id"], "which visit?")]
    ledger = api.get("/v1/policy-ledger", headers=as_manager).json()
    mine = next(r for r in ledger["reps"] if r["rep_id"] == rep["id"])
    assert {line["infraction"]: line["count"] for line in mine["lines"]}["falsified"] == 1
