"""The money side of the demo book (see seed_book): contracts approved by the real chain, signed,
with payment plans whose early instalments fall due before today and receipts for part of them,
and each branch manager's targets split between his reps."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx


@dataclass
class Person:
    login: str
    token: str
    id: str = ""
    unit_id: str = ""
    manager_id: str = ""
    currency: str = "CNY"
    branch_code: str = "SH"
    customers: list[dict[str, Any]] = field(default_factory=list)
    won: list[dict[str, Any]] = field(default_factory=list)


def auth(person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


def retry(attempt: Callable[[], httpx.Response], ok: Iterable[int] = (200, 201), tries: int = 20) -> httpx.Response:
    """Services learn of each other's records by events: retry what may arrive a moment late."""
    reply = attempt()
    for _ in range(tries):
        if reply.status_code in ok or reply.status_code in (409, 403):
            return reply
        time.sleep(0.25)
        reply = attempt()
    return reply


def contract(
    client: httpx.Client,
    rep: Person,
    customer: dict[str, Any],
    n: int,
    products: list[dict[str, Any]],
    by_id: dict[str, Person],
) -> int:
    """-1: not made; else the number of receipts. Every third stays waiting for approval."""
    today = datetime.now(UTC).date()
    start = today - timedelta(days=150 - 40 * (n % 3))
    reply = retry(
        lambda: client.post(
            "/v1/contracts",
            headers=auth(rep),
            json={
                "customer_id": customer["id"],
                "branch_code": rep.branch_code,
                "currency": rep.currency,
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=365)).isoformat(),
                "lines": [{"product_id": products[n % len(products)]["id"], "quantity": "1"}],
            },
        )
    )
    if reply.status_code != 201:
        return -1
    contract = reply.json()
    submitted = retry(lambda: client.post(f"/v1/contracts/{contract['id']}/submit", headers=auth(rep)), ok=(200,))
    if submitted.status_code != 200 or n % 3 == 2:
        return 0
    for step in submitted.json().get("approval_steps", []):
        approver = by_id.get(step["approver_id"])
        if approver is None:
            return 0
        client.post(f"/v1/contracts/{contract['id']}/approve", headers=auth(approver), json={"comment": "ok"})
    if client.post(f"/v1/contracts/{contract['id']}/sign", headers=auth(rep)).status_code != 200:
        return 0
    total = float(contract["total"])
    parts = [round(total * 0.3, 2), round(total * 0.3, 2)]
    parts.append(round(total - sum(parts), 2))
    dues = [start + timedelta(days=30), start + timedelta(days=90), start + timedelta(days=300)]
    plan = client.put(
        f"/v1/contracts/{contract['id']}/payment-plan",
        headers=auth(rep),
        json={"instalments": [{"due_date": d.isoformat(), "amount": f"{a:.2f}"} for d, a in zip(dues, parts)]},
    )
    if plan.status_code != 200:
        return 0
    receipts = 0
    for amount in [parts[0]] if n % 2 else [parts[0], parts[1] / 2]:  # the rest of the second one is overdue
        reply = client.post(
            "/v1/receipts",
            headers=auth(rep),
            json={
                "contract_id": contract["id"],
                "amount": f"{amount:.2f}",
                "method": "bank_transfer",
                "reference": f"TX-{contract['id'][-6:]}-{receipts}",
            },
        )
        receipts += int(reply.status_code == 201)
    return receipts


def targets(
    client: httpx.Client, people: dict[str, Person], units: dict[str, dict[str, Any]], reps: list[Person]
) -> int:
    """Each branch manager's monthly and yearly contract-amount targets, split between his reps."""
    count = 0
    today = date.today()
    for manager in (p for login, p in people.items() if login.startswith("manager")):
        branch = units.get(manager.unit_id)
        mine = (
            [r for r in reps if units.get(r.unit_id, {}).get("path", "").startswith(branch["path"])] if branch else []
        )
        if not mine:
            continue
        for period, each in ((today.strftime("%Y-%m"), 150_000), (str(today.year), 1_500_000)):
            goal = {
                "metric": "contract_amount",
                "period": period,
                "org_path": branch["path"],
                "currency": manager.currency,
            }
            reply = client.post(
                "/v1/targets",
                headers=auth(manager),
                json={
                    "parent": goal | {"amount": str(each * len(mine))},
                    "children": [goal | {"rep_id": r.id, "amount": str(each)} for r in mine],
                },
            )
            count += int(reply.status_code == 200)
    return count
