"""A small business day driven through the gateway (for the observability tests): a branch with a
manager and a rep, customers by hand and by import, one opportunity won and one lost, a contract
from the won one approved, signed and partly collected, and a customers export. Each business
counter of salesgrid_common.business_metrics moves at least once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from salesgrid_dev.api import WIN_FACTS, auth, created, gate_facts, poll, replicated, sales_branch


@dataclass
class Day:
    customers: int = 0
    won: int = 0
    lost: int = 0
    receipts_cny: float = 0.0
    import_rows: int = 0
    exports: int = 0


def business_day(api: httpx.Client, admin_token: str, platform: Any) -> Day:
    """`platform`: the running Platform (contracts' directory replica must know the people
    before a contract is submitted: approval routing walks the management chain there)."""
    tag = uuid.uuid4().hex[:8]
    day = Day()
    sales = sales_branch(api, admin_token, tag, branch_name="Obs branch", team_name="Obs team", code="o", login="obs")
    manager_id, rep_id = sales.manager_id, sales.rep_id
    rep, manager = auth(sales.rep_token), auth(sales.manager_token)

    customer = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"观测{tag}科技有限公司"}))
    day.customers += 1
    csv = f"legal_name,tier\n观测{tag}导入一号有限公司,key\n观测{tag}导入二号有限公司,platinum\n"
    started = api.post("/v1/customers/imports", content=csv.encode(), headers={**rep, "Content-Type": "text/csv"})
    assert started.status_code == 202, started.text
    poll(lambda: api.get(started.headers["Location"], headers=rep).json()["status"] == "done", timeout=30)
    day.customers += 1
    day.import_rows += 2

    product = created(
        api.post(
            "/v1/products",
            headers=auth(admin_token),
            json={"sku": f"OBS-{tag}", "name": "Observed line", "prices": [{"currency": "CNY", "amount": "1000.00"}]},
        )
    )
    today = datetime.now(UTC).date()
    opportunities = []
    for name in ("won", "lost"):
        opportunities.append(
            created(
                api.post(
                    "/v1/opportunities",
                    headers=rep,
                    json={
                        "customer_id": customer["id"],
                        "name": f"{name} {tag}",
                        "amount": {"amount": "1000.00", "currency": "CNY"},
                        "expected_close_date": (today + timedelta(days=60)).isoformat(),
                        "products": [{"product_id": product["id"]}],
                    },
                )
            )
        )
    won_id, lost_id = (o["id"] for o in opportunities)
    for _stage, facts in gate_facts():
        created(api.post(f"/v1/opportunities/{won_id}/advance", headers=rep, json={"facts": facts}), 200)
    created(api.post(f"/v1/opportunities/{won_id}/won", headers=rep, json={"facts": WIN_FACTS}), 200)
    day.won += 1
    created(api.post(f"/v1/opportunities/{lost_id}/lost", headers=rep, json={"reason": "price"}), 200)
    day.lost += 1

    replicated(platform, admin_token, [manager_id, rep_id])
    contract = poll(
        lambda: (
            (
                r := api.post(
                    "/v1/contracts",
                    headers=rep,
                    json={
                        "opportunity_id": won_id,
                        "branch_code": "OB",
                        "start_date": today.isoformat(),
                        "end_date": (today + timedelta(days=365)).isoformat(),
                    },
                )
            ).status_code
            == 201
            and r.json()
        )
    )
    cid = contract["id"]
    created(api.post(f"/v1/contracts/{cid}/submit", headers=rep), 200)
    created(api.post(f"/v1/contracts/{cid}/approve", headers=manager, json={"comment": "ok"}), 200)
    created(api.post(f"/v1/contracts/{cid}/sign", headers=rep), 200)
    created(
        api.put(
            f"/v1/contracts/{cid}/payment-plan",
            headers=rep,
            json={"instalments": [{"due_date": (today + timedelta(days=30)).isoformat(), "amount": "1000.00"}]},
        ),
        200,
    )
    created(
        api.post(
            "/v1/receipts",
            headers=rep,
            json={"contract_id": cid, "amount": "400.00", "method": "bank_transfer", "reference": f"OBS-{tag}"},
        )
    )
    day.receipts_cny += 400.0

    export = api.post("/v1/exports", headers=rep, json={"entity": "customers", "format": "csv"})
    assert export.status_code == 202, export.text
    poll(lambda: api.get(f"/v1/exports/{export.json()['id']}", headers=rep).json()["status"] == "ready", timeout=30)
    day.exports += 1
    return day
