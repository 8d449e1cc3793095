"""Contracts end to end through the gateway on the real platform: an org branch with a rep, his
manager and a director created as admin; contract → submit → manager then director approve →
sign → payment plan → partial and full receipts → nothing receivable; an amendment, a refund and
an invoice; another rep's scope; problem+json for bad input. Then the whole sale: a customer, an
opportunity advanced through every gate and won, the contract made from it, approved, signed and
collected until nothing is receivable for the rep's unit; the rep's expense claim for that sale
(receipt attached, approved by his manager, paid by finance) reaches analytics' cost of sale and
identity's audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from salesgrid_dev.api import (
    WIN_FACTS,
    auth,
    created,
    gate_facts,
    person,
    poll,
    problem,
    replicated,
    sales_branch,
)
from salesgrid_dev.platform import Platform

PASSWORD = "Contracts-Flow-2026"


def test_contract_from_draft_to_fully_collected(platform: Platform, api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    admin = auth(admin_token)
    root = next(u for u in api.get("/v1/org-units", headers=admin).json()["items"] if not u["parent_id"])
    region = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={
                "parent_id": root["id"],
                "name": f"East {suffix}",
                "code": f"e{suffix}",
                "kind": "region",
                "time_zone": "Asia/Shanghai",
                "currency": "CNY",
            },
        )
    )
    branch = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={
                "parent_id": region["id"],
                "name": f"Shanghai {suffix}",
                "code": f"s{suffix}",
                "kind": "branch",
                "time_zone": "Asia/Shanghai",
                "currency": "CNY",
            },
        )
    )
    # A team created without a zone or currency works on its Shanghai branch's calendar.
    team = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={"parent_id": branch["id"], "name": f"Team {suffix}", "code": f"t{suffix}", "kind": "team"},
        )
    )
    assert (team["time_zone"], team["currency"]) == ("Asia/Shanghai", "CNY")

    def user(name: str, unit: dict, role: str, manager: dict | None = None) -> dict:  # type: ignore[type-arg]
        body = {
            "login": f"{name}.{suffix}",
            "display_name": name.title(),
            "unit_id": unit["id"],
            "roles": [role],
            "initial_password": PASSWORD,
            "password_change_required": False,
        }
        if manager:
            body["manager_id"] = manager["id"]
        return created(api.post("/v1/users", headers=admin, json=body))

    director = user("director", region, "director")
    manager = user("manager", branch, "manager", director)
    rep = user("rep", team, "rep", manager)
    other = user("other", team, "rep", manager)
    replicated(platform, admin_token, [u["id"] for u in (director, manager, rep, other)])
    tokens = {}
    for name, person in (("director", director), ("manager", manager), ("rep", rep), ("other", other)):
        login = created(api.post("/v1/auth/login", json={"login": person["login"], "password": PASSWORD}), 200)
        tokens[name] = auth(login["access_token"])

    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={"sku": f"CRM-{suffix}", "name": "CRM licence", "prices": [{"currency": "CNY", "amount": "50000.00"}]},
        )
    )
    today = datetime.now(UTC).date()
    contract = created(
        api.post(
            "/v1/contracts",
            headers=tokens["rep"],
            json={
                "customer_id": f"cust-{suffix}",
                "branch_code": "IT",
                "currency": "CNY",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=365)).isoformat(),
                "lines": [{"product_id": product["id"], "quantity": "3"}],
            },
        )
    )
    assert (contract["status"], contract["total"]) == ("draft", "150000.00")
    cid = contract["id"]

    # Bad input: an unknown currency is a problem+json naming the field, and nothing is created.
    bad = api.post(
        "/v1/contracts",
        headers=tokens["rep"],
        json={
            "customer_id": f"cust-{suffix}",
            "branch_code": "IT",
            "currency": "QQQ",
            "start_date": today.isoformat(),
            "end_date": today.isoformat(),
            "lines": [{"product_id": product["id"]}],
        },
    )
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in bad.json()["errors"]] == ["currency"]
    mine = api.get("/v1/contracts", headers=tokens["rep"]).json()["items"]
    assert [c["id"] for c in mine] == [cid]

    # Scope: the other rep neither sees nor acts on it.
    assert api.get(f"/v1/contracts/{cid}", headers=tokens["other"]).status_code == 404
    assert api.post(f"/v1/contracts/{cid}/submit", headers=tokens["other"]).status_code in (403, 404)

    # 150,000 CNY is above the manager's limit: the manager, then the director, in that order.
    submitted = created(api.post(f"/v1/contracts/{cid}/submit", headers=tokens["rep"]), 200)
    assert [(s["approver_id"], s["role"]) for s in submitted["approval_steps"]] == [
        (manager["id"], "manager"),
        (director["id"], "director"),
    ]
    assert api.post(f"/v1/contracts/{cid}/approve", headers=tokens["rep"]).status_code == 403  # no self-approval
    out_of_turn = api.post(f"/v1/contracts/{cid}/approve", headers=tokens["director"])
    assert out_of_turn.status_code == 422 and out_of_turn.headers["Content-Type"] == "application/problem+json"
    created(api.post(f"/v1/contracts/{cid}/approve", headers=tokens["manager"], json={"comment": "ok"}), 200)
    approved = created(api.post(f"/v1/contracts/{cid}/approve", headers=tokens["director"]), 200)
    assert approved["status"] == "approved"
    signed = created(api.post(f"/v1/contracts/{cid}/sign", headers=tokens["rep"]), 200)
    assert signed["status"] == "signed"

    # Payment plan: instalments must sum to the total.
    short = api.put(
        f"/v1/contracts/{cid}/payment-plan",
        headers=tokens["rep"],
        json={"instalments": [{"due_date": (today + timedelta(days=30)).isoformat(), "amount": "100000.00"}]},
    )
    assert short.status_code == 400 and [e["field"] for e in short.json()["errors"]] == ["instalments"]
    created(
        api.put(
            f"/v1/contracts/{cid}/payment-plan",
            headers=tokens["rep"],
            json={
                "instalments": [
                    {"due_date": (today + timedelta(days=30)).isoformat(), "amount": "100000.00"},
                    {"due_date": (today + timedelta(days=60)).isoformat(), "amount": "50000.00"},
                ]
            },
        ),
        200,
    )

    negative = api.post("/v1/receipts", headers=tokens["rep"], json={"contract_id": cid, "amount": "-1.00"})
    assert negative.status_code == 400 and [e["field"] for e in negative.json()["errors"]] == ["amount"]
    partial = created(
        api.post(
            "/v1/receipts",
            headers=tokens["rep"],
            json={"contract_id": cid, "amount": "60000.00", "method": "bank_transfer", "reference": f"TX-{suffix}"},
        )
    )
    assert [(a["instalment_seq"], a["amount"]) for a in partial["allocations"]] == [(1, "60000.00")]
    # Without a date a receipt is dated the branch's today (from 16:00 UTC Shanghai is a day ahead).
    shanghai_today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    assert partial["received_on"] == shanghai_today
    receivables = api.get("/v1/receivables?group_by=contract", headers=tokens["rep"]).json()
    assert [(g["key"], g["outstanding"][0]["amount"]) for g in receivables["groups"]] == [(cid, "90000.00")]
    assert api.get("/v1/receivables?group_by=contract", headers=tokens["other"]).json().get("groups", []) == []

    # Invoices never exceed the contract total; refunds never exceed what was collected.
    over = api.post(
        "/v1/invoices",
        headers=tokens["rep"],
        json={"contract_id": cid, "number": f"INV-{suffix}", "amount": "150000.01"},
    )
    assert over.status_code == 400 and [e["field"] for e in over.json()["errors"]] == ["amount"]
    created(
        api.post(
            "/v1/invoices",
            headers=tokens["rep"],
            json={"contract_id": cid, "number": f"INV-{suffix}", "amount": "150000.00"},
        )
    )
    too_much = api.post(
        "/v1/refunds", headers=tokens["rep"], json={"contract_id": cid, "amount": "60000.01", "reason": "overcharge"}
    )
    assert too_much.status_code == 400 and [e["field"] for e in too_much.json()["errors"]] == ["amount"]
    created(
        api.post(
            "/v1/refunds",
            headers=tokens["rep"],
            json={"contract_id": cid, "amount": "10000.00", "reason": "overcharge"},
        )
    )

    full = created(
        api.post(
            "/v1/receipts",
            headers=tokens["rep"],
            json={  # dated today in Shanghai: not "future"
                "contract_id": cid,
                "amount": "100000.00",
                "method": "bank_transfer",
                "received_on": shanghai_today,
            },
        )
    )
    assert full["received_on"] == shanghai_today
    assert sum(float(a["amount"]) for a in full["allocations"]) == 100000.0
    plan = api.get(f"/v1/contracts/{cid}/payment-plan", headers=tokens["rep"]).json()
    assert [i["status"] for i in plan["instalments"]] == ["paid", "paid"]
    receivables = api.get("/v1/receivables?group_by=contract", headers=tokens["rep"]).json()
    assert receivables.get("groups", []) == []  # nothing outstanding
    ageing = api.get("/v1/receivables/ageing?group_by=contract", headers=tokens["manager"]).json()
    assert all(line["total"] == "0.00" for line in ageing.get("lines", []) if line["key"] == cid)

    # An amendment goes back to the manager; the old version is kept.
    amend = api.post(f"/v1/contracts/{cid}/amend", headers=tokens["rep"], json={"terms": "renewed terms"})
    assert amend.status_code == 202, amend.text
    assert (amend.json()["approval_kind"], amend.json()["proposed"]["revision"]) == ("amendment", 2)
    halfway = created(api.post(f"/v1/contracts/{cid}/approve", headers=tokens["manager"]), 200)
    assert (halfway["revision"], halfway["approval_kind"]) == (1, "amendment")  # 150,000: the director too
    amended = created(api.post(f"/v1/contracts/{cid}/approve", headers=tokens["director"]), 200)
    assert (amended["revision"], amended["terms"], amended["status"]) == (2, "renewed terms", "signed")
    versions = api.get(f"/v1/contracts/{cid}/versions", headers=tokens["rep"]).json()["versions"]
    assert [(v["revision"], v["status"]) for v in versions] == [(1, "superseded"), (2, "in_force")]


def test_from_won_opportunity_to_fully_collected(platform: Platform, api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    admin = auth(admin_token)
    sales = sales_branch(api, admin_token, suffix, branch_name="Won deals", team_name="Won team", code="w", login="won")
    branch, team = sales.branch, sales.team
    manager_id, rep_id = sales.manager_id, sales.rep_id
    replicated(platform, admin_token, [manager_id, rep_id])
    rep, manager = auth(sales.rep_token), auth(sales.manager_token)

    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={
                "sku": f"WON-{suffix}",
                "name": "Line automation",
                "prices": [{"currency": "CNY", "amount": "80000.00"}],
            },
        )
    )
    customer = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"苏州{suffix}自动化有限公司"}))
    today = datetime.now(UTC).date()
    opportunity = created(
        api.post(
            "/v1/opportunities",
            headers=rep,
            json={
                "customer_id": customer["id"],
                "name": f"Line 7 {suffix}",
                "amount": {"amount": "86000.50", "currency": "CNY"},
                "expected_close_date": (today + timedelta(days=90)).isoformat(),
                "products": [{"product_id": product["id"]}],
            },
        )
    )
    opp_id = opportunity["id"]

    # Not won yet: no contract, and nothing is written.
    dates = {
        "branch_code": "WN",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=365)).isoformat(),
    }
    problem(api.post("/v1/contracts", headers=rep, json={"opportunity_id": opp_id, **dates}), 422, "opportunity_id")
    for stage, facts in gate_facts():
        assert (
            created(api.post(f"/v1/opportunities/{opp_id}/advance", headers=rep, json={"facts": facts}), 200)["stage"]
            == stage
        )
    won = created(api.post(f"/v1/opportunities/{opp_id}/won", headers=rep, json={"facts": WIN_FACTS}), 200)
    assert won["status"] == "won"

    # The contract copies the opportunity's customer, currency and amount; its terms come from the
    # company's standard template, whose version it records.
    template = created(
        api.put(
            f"/v1/contract-templates/std-{suffix}",
            headers=admin,
            json={"name": "Standard", "terms": "Payment within 30 days of each due date."},
        ),
        200,
    )
    contract = created(
        api.post(
            "/v1/contracts",
            headers=rep,
            json={"opportunity_id": opp_id, "template_id": template["template_id"], **dates},
        )
    )
    assert (contract["customer_id"], contract["currency"], contract["total"], contract["opportunity_id"]) == (
        customer["id"],
        "CNY",
        "86000.50",
        opp_id,
    )
    assert (contract["terms"], contract["template_version"]) == (template["terms"], 1)
    cid = contract["id"]
    attachment = {
        "document_id": f"doc-{suffix}",
        "file_name": "award.pdf",
        "content_type": "application/pdf",
        "size_bytes": 52133,
        "sha256": "0f" * 32,
    }
    problem(
        api.post(f"/v1/contracts/{cid}/attachments", headers=rep, json={**attachment, "sha256": "0f"}),
        400,
        "attachment.sha256",
    )
    created(api.post(f"/v1/contracts/{cid}/attachments", headers=rep, json=attachment))
    listed = api.get(f"/v1/contracts/{cid}/attachments", headers=rep).json()["items"]
    assert [(a["document_id"], a["sha256"]) for a in listed] == [(attachment["document_id"], attachment["sha256"])]
    submitted = created(api.post(f"/v1/contracts/{cid}/submit", headers=rep), 200)
    assert [(s["approver_id"], s["role"]) for s in submitted["approval_steps"]] == [(manager_id, "manager")]
    assert (
        created(api.post(f"/v1/contracts/{cid}/approve", headers=manager, json={"comment": "go"}), 200)["status"]
        == "approved"
    )
    assert created(api.post(f"/v1/contracts/{cid}/sign", headers=rep), 200)["status"] == "signed"
    created(
        api.put(
            f"/v1/contracts/{cid}/payment-plan",
            headers=rep,
            json={
                "instalments": [
                    {"due_date": (today + timedelta(days=30)).isoformat(), "amount": "50000.00"},
                    {"due_date": (today + timedelta(days=60)).isoformat(), "amount": "36000.50"},
                ]
            },
        ),
        200,
    )

    by_unit = api.get("/v1/receivables?group_by=unit", headers=manager).json()["groups"]
    assert [(g["key"], g["outstanding"][0]["amount"]) for g in by_unit] == [(team["id"], "86000.50")]
    created(
        api.post(
            "/v1/receipts",
            headers=rep,
            json={"contract_id": cid, "amount": "50000.00", "method": "bank_transfer", "reference": f"A-{suffix}"},
        )
    )
    ageing = api.get("/v1/receivables/ageing?group_by=unit", headers=manager).json()["lines"]
    assert [(line["key"], line["not_due"], line["total"]) for line in ageing] == [(team["id"], "36000.50", "36000.50")]
    created(
        api.post(
            "/v1/receipts",
            headers=rep,
            json={"contract_id": cid, "amount": "36000.50", "method": "bank_transfer", "reference": f"B-{suffix}"},
        )
    )

    plan = api.get(f"/v1/contracts/{cid}/payment-plan", headers=rep).json()
    assert ([i["status"] for i in plan["instalments"]], plan["credit"]) == (["paid", "paid"], "0.00")
    assert api.get("/v1/receivables?group_by=contract", headers=rep).json().get("groups", []) == []
    assert api.get("/v1/receivables?group_by=unit", headers=manager).json().get("groups", []) == []
    assert created(api.post(f"/v1/contracts/{cid}/activate", headers=rep), 200)["status"] == "active"
    assert created(api.post(f"/v1/contracts/{cid}/complete", headers=rep), 200)["status"] == "completed"

    # The cost of that sale: the rep's expense claim, linked to the customer and the opportunity,
    # with its receipt, approved by his manager (never by himself) and paid by finance.
    finance_id, finance_token = person(api, admin_token, branch["id"], f"won-fin-{suffix}", "finance")
    replicated(platform, admin_token, [manager_id, rep_id], service="expenses")
    claim = created(
        api.post(
            "/v1/expense-claims",
            headers=rep,
            json={
                "currency": "CNY",
                "lines": [
                    {
                        "category": "entertainment",
                        "spent_on": today.isoformat(),
                        "amount": "430.05",
                        "customer_id": customer["id"],
                        "opportunity_id": opp_id,
                    }
                ],
            },
        )
    )
    problem(api.post(f"/v1/expense-claims/{claim['id']}/submit", headers=rep), 400, "lines[0].receipts")
    created(
        api.post(
            f"/v1/expense-claims/{claim['id']}/lines/1/receipts?file_name=dinner.pdf",
            headers={**rep, "Content-Type": "application/pdf"},
            content=b"%PDF-1.7\n% dinner receipt\n",
        )
    )
    submitted = created(api.post(f"/v1/expense-claims/{claim['id']}/submit", headers=rep), 200)
    assert [s["approver_id"] for s in submitted["approval_steps"]] == [manager_id]
    assert api.post(f"/v1/expense-claims/{claim['id']}/approve", headers=rep).status_code == 403
    asked = poll(lambda: api.get("/v1/inbox?kind=expense_approval", headers=manager).json()["items"])
    assert [(i["record"]["type"], i["record"]["id"]) for i in asked] == [("expense_claim", claim["id"])]
    assert created(api.post(f"/v1/expense-claims/{claim['id']}/approve", headers=manager), 200)["status"] == "approved"
    local_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the branch's day, as the approval's
    paid = created(
        api.post(
            f"/v1/expense-claims/{claim['id']}/pay",
            headers=auth(finance_token),
            json={"paid_on": local_today.isoformat(), "payment_reference": f"EXP-{suffix}"},
        ),
        200,
    )
    assert paid["status"] == "paid"
    month = local_today.strftime("%Y-%m")
    query = f"period={month}&currency=CNY&time_zone=Asia/Shanghai&rep_id={rep_id}"

    def cost_of_sale() -> dict | None:  # type: ignore[type-arg]
        # The expense and each collection reach analytics as separate events: wait for all of them.
        reply = created(api.get(f"/v1/analytics/cost-of-sale?{query}", headers=manager), 200)
        lines = reply["lines"]
        return reply if lines and lines[0]["collected"] == "86000.50" and lines[0]["expenses"] == "430.05" else None

    (line,) = poll(cost_of_sale)["lines"]
    assert (line["key"], line["expenses"], line["collected"], line["ratio"]) == (rep_id, "430.05", "86000.50", "0.0050")
    (line,) = created(api.get(f"/v1/analytics/cost-of-sale?{query}&by=opportunity", headers=manager), 200)["lines"]
    assert (line["key"], line["expenses"]) == (opp_id, "430.05")
    trail = poll(
        lambda: api.get(f"/v1/audit-events?action=expenses.claim.paid&actor_id={finance_id}", headers=admin).json()[
            "items"
        ]
    )
    assert [(e["target_id"], e["source"]) for e in trail] == [(claim["id"], "expenses")]
