"""Demo organisation seeded through the public API (the same rules as any client)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx

from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD

DEMO_PASSWORD = "Field-Sales-2026"

# region (name, zone, currency) → branches → teams
ORG = [
    ("East China 华东区", "Asia/Shanghai", "CNY", [("Shanghai Branch 上海分公司", "SH", ["Team A", "Team B"])]),
    ("Europe", "Europe/Berlin", "EUR", [("Berlin Branch", "BER", ["Team Spree"])]),
]
# Each region's expense policy, in its currency: daily limits per category, director approval above.
EXPENSE_POLICY = {
    "CNY": ({"travel": "800", "communication": "200", "entertainment": "2000"}, "10000"),
    "EUR": ({"travel": "150", "communication": "30", "entertainment": "300"}, "1500"),
}


@dataclass
class DemoOrg:
    units: dict[str, str] = field(default_factory=dict)  # name → id
    logins: dict[str, str] = field(default_factory=dict)  # login → role


def login(client: httpx.Client, user: str, password: str) -> str:
    reply = client.post("/v1/auth/login", json={"login": user, "password": password})
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def seed_demo(base_url: str) -> DemoOrg:
    demo = DemoOrg()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        client.headers["Authorization"] = f"Bearer {login(client, ADMIN_LOGIN, ADMIN_PASSWORD)}"
        existing = client.get("/v1/org-units").json()["items"]
        root = next(u for u in existing if not u["parent_id"])
        if len(existing) > 1:  # already seeded by an earlier `make run`
            return demo

        def unit(parent: str, name: str, kind: str, zone: str, currency: str, code: str = "") -> str:
            reply = client.post(
                "/v1/org-units",
                json={
                    "parent_id": parent,
                    "name": name,
                    "kind": kind,
                    "time_zone": zone,
                    "currency": currency,
                    "code": code,
                },
            )
            reply.raise_for_status()
            demo.units[name] = reply.json()["id"]
            return demo.units[name]

        def user(login_name: str, name: str, unit_id: str, role: str, manager: str = "") -> str:
            reply = client.post(
                "/v1/users",
                json={
                    "login": login_name,
                    "display_name": name,
                    "unit_id": unit_id,
                    "roles": [role],
                    "manager_id": manager,
                    "initial_password": DEMO_PASSWORD,
                    "password_change_required": False,
                },
            )
            reply.raise_for_status()
            demo.logins[login_name] = role
            return str(reply.json()["id"])

        director = user("director", "Zhao Min 赵敏", root["id"], "director")
        for r_index, (region, zone, currency, branches) in enumerate(ORG, start=1):
            region_id = unit(root["id"], region, "region", zone, currency)
            expense_policy(client, region_id, currency)
            head = user(f"head{r_index}", f"Regional head {r_index}", region_id, "regional_head", director)
            for b_index, (branch, code, teams) in enumerate(branches, start=1):
                branch_id = unit(region_id, branch, "branch", zone, currency, code)
                manager = user(f"manager{r_index}{b_index}", f"Manager {code}", branch_id, "manager", head)
                for t_index, team in enumerate(teams, start=1):
                    team_id = unit(branch_id, f"{branch} {team}", "team", zone, currency)
                    supervisor = user(
                        f"sup{r_index}{b_index}{t_index}",
                        f"Supervisor {code}-{t_index}",
                        team_id,
                        "supervisor",
                        manager,
                    )
                    for rep in (1, 2):
                        user(
                            f"rep{r_index}{b_index}{t_index}{rep}",
                            f"Rep {code}-{t_index}-{rep}",
                            team_id,
                            "rep",
                            supervisor,
                        )
    return demo


def expense_policy(client: httpx.Client, unit_id: str, currency: str, wait: float = 15.0) -> None:
    """The region's expense policy; the expenses service learns of the new unit from identity's
    events, so a moment after its creation it may not know it yet (404 until then)."""
    limits, director_above = EXPENSE_POLICY[currency]
    body = {
        "currency": currency,
        "director_above": director_above,
        "limits": [{"category": category, "daily_limit": limit} for category, limit in limits.items()],
    }
    deadline = time.monotonic() + wait
    while True:
        reply = client.put(f"/v1/expense-policies/{unit_id}", json=body)
        if reply.status_code != 404 or time.monotonic() > deadline:
            reply.raise_for_status()
            return
        time.sleep(0.2)
