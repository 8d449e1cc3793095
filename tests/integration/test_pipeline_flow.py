"""Pipeline end to end through the gateway on the real platform: a rep and his manager in their
own org unit; a lead converted (the customer created through the customers service) into an
opportunity advanced through every stage with its facts to won; a gate rejection recorded and
visible to the manager; scope between reps and problem+json for bad input. Then quotes priced
from the contracts catalogue, the commit flag, rule-based lead assignment and a business line's
own stage model, all through the gateway."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from salesgrid_dev.api import (
    auth,
    created,
    document_fact,
    gate_facts,
    money,
    org_unit,
    person,
    poll,
    problem,
    root_unit,
)

PASSWORD = "Field-Sales-2026"


STAGE_FACTS = gate_facts("900000", "600000", "580000")


def test_lead_to_won_with_gates_scope_and_bad_input(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    unit_id = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"商机测试组 {suffix}")["id"]
    rep1, rep1_token = person(api, admin_token, unit_id, f"pipe-rep1-{suffix}", "rep")
    rep2, rep2_token = person(api, admin_token, unit_id, f"pipe-rep2-{suffix}", "rep")
    _, mgr_token = person(api, admin_token, unit_id, f"pipe-mgr-{suffix}", "manager")
    r1, r2, mgr = auth(rep1_token), auth(rep2_token), auth(mgr_token)

    # a lead of the rep's own, converted: the customer is created in the customers service
    company = f"江南{suffix}精密制造有限公司"
    lead = api.post(
        "/v1/leads",
        headers=r1,
        json={"company_name": company, "industry": "machinery", "estimated_amount": money("650000"), "assign_to": rep1},
    )
    assert lead.status_code == 201, lead.text
    lead_id = lead.json()["id"]
    bad = api.post(f"/v1/leads/{lead_id}/convert", headers=r1, json={"expected_close_date": "2020-01-01"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["expected_close_date"]
    converted = api.post(f"/v1/leads/{lead_id}/convert", headers=r1, json={"expected_close_date": "2027-03-31"})
    assert converted.status_code == 201, converted.text
    body = converted.json()
    customer_id, opp = body["customer_id"], body["opportunity"]
    assert body["lead"]["status"] == "converted"
    customer = api.get(f"/v1/customers/{customer_id}", headers=r1)
    assert customer.status_code == 200, customer.text
    assert customer.json()["legal_name"] == company
    opp_id = opp["id"]
    assert (opp["stage"], opp["status"], opp["customer_id"]) == ("opportunity", "open", customer_id)

    # bad input and another rep's customer: problem+json 400 naming the field
    bad = api.post(
        "/v1/opportunities",
        headers=r1,
        json={"customer_id": customer_id, "name": "Line 3", "amount": money("-5"), "expected_close_date": "2027-03-31"},
    )
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e.get("code")) for e in bad.json()["errors"]] == [("amount.amount", "OUT_OF_RANGE")]
    foreign = api.post(
        "/v1/opportunities",
        headers=r2,
        json={"customer_id": customer_id, "name": "Poached", "amount": money("5"), "expected_close_date": "2027-03-31"},
    )
    assert foreign.status_code == 400 and [e["field"] for e in foreign.json()["errors"]] == ["customer_id"]

    # scope: the other rep can neither read nor move this opportunity; the manager reads it
    assert api.get(f"/v1/opportunities/{opp_id}", headers=r2).status_code in (403, 404)
    assert api.post(f"/v1/opportunities/{opp_id}/advance", headers=r2, json={}).status_code in (403, 404)
    assert api.get(f"/v1/opportunities/{opp_id}", headers=mgr).status_code == 200

    # a gate without its facts is rejected and recorded as a violation the manager sees per rep
    rejected = api.post(f"/v1/opportunities/{opp_id}/advance", headers=r1, json={})
    assert rejected.status_code in (409, 412, 422), rejected.text
    assert "budget" in rejected.json()["detail"]
    # the refusal's stable code and values: the kind stays the `type`, the English is not needed
    gate = rejected.json()
    assert (gate["type"], gate["code"]) == ("https://salesgrid.dev/problems/failed-precondition", "STAGE_GATE_UNMET")
    assert gate["info"]["target_stage"] == "approval"
    assert {"budget", "decision_chain_visits"} <= set(gate["info"]["missing_facts"].split(","))
    assert "problem_category" not in gate["info"]
    violations = api.get("/v1/gate-violations", headers=mgr, params={"actor_id": rep1}).json()["items"]
    assert [(v["opportunity_id"], v["target_stage"]) for v in violations] == [(opp_id, "approval")]
    assert "decision_chain_visits" in violations[0]["missing_facts"]
    assert api.get("/v1/gate-violations", headers=r2).json()["items"] == []

    version = opp["version"]
    for stage, facts in STAGE_FACTS:
        moved = api.post(
            f"/v1/opportunities/{opp_id}/advance", headers={**r1, "If-Match": f'"{version}"'}, json={"facts": facts}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["stage"] == stage
        version = moved.json()["version"]
    won = api.post(
        f"/v1/opportunities/{opp_id}/won",
        headers=r1,
        json={"facts": [document_fact("award_notice"), document_fact("bid_opening_documents")]},
    )
    assert won.status_code == 200, won.text
    assert (won.json()["status"], won.json()["stage"]) == ("won", "won")
    closed = api.post(f"/v1/opportunities/{opp_id}/advance", headers=r1, json={})
    assert closed.status_code in (409, 412, 422) and "closed" in closed.json()["detail"]

    history = api.get(f"/v1/opportunities/{opp_id}/history", headers=mgr).json()["items"]
    assert [(c["from_stage"], c["to_stage"]) for c in history] == [
        ("opportunity", "approval"),
        ("approval", "formal_communication"),
        ("formal_communication", "bidding"),
        ("bidding", "result"),
        ("result", "won"),
    ]
    assert {c["by"] for c in history} == {rep1}

    # the lead is converted, visible to the manager; the won deal is in his forecast
    assert api.get(f"/v1/leads/{lead_id}", headers=mgr).json()["status"] == "converted"
    forecast = poll(lambda: api.get("/v1/forecast", headers=mgr).json()["items"])
    assert any(b["key"] == rep1 and Decimal(b["won_amount"]) == 650000 for b in forecast), forecast


def test_quotes_commit_flag_and_lead_assignment_rules(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"报价测试组 {suffix}")
    rep1, rep1_token = person(api, admin_token, team["id"], f"quote-rep1-{suffix}", "rep")
    rep2, _ = person(api, admin_token, team["id"], f"quote-rep2-{suffix}", "rep")
    _, mgr_token = person(api, admin_token, team["id"], f"quote-mgr-{suffix}", "manager")
    r1, mgr = auth(rep1_token), auth(mgr_token)
    product = created(
        api.post(
            "/v1/products",
            headers=auth(admin_token),
            json={
                "sku": f"Q-{suffix}",
                "name": "Control cabinet",
                "prices": [{"currency": "CNY", "amount": "1200.50"}],
            },
        )
    )

    customer_id = created(api.post("/v1/customers", headers=r1, json={"legal_name": f"岭南{suffix}机电有限公司"}))["id"]
    opp = created(
        api.post(
            "/v1/opportunities",
            headers=r1,
            json={
                "customer_id": customer_id,
                "name": "Cabinets",
                "amount": money("20000"),
                "expected_close_date": "2027-05-31",
            },
        )
    )

    # quotes: priced from the contracts catalogue, versioned, one version accepted
    problem(
        api.post(
            "/v1/quotes", headers=r1, json={"opportunity_id": opp["id"], "lines": [{"product_id": "no-such-product"}]}
        ),
        400,
        "lines[0].product_id",
    )
    problem(api.get("/v1/quotes", headers=r1), 400, "opportunity_id")
    first = created(
        api.post(
            "/v1/quotes",
            headers=r1,
            json={
                "opportunity_id": opp["id"],
                "lines": [
                    {"product_id": product["id"], "quantity": "10", "discount_kind": "percent", "discount_value": "5"}
                ],
            },
        )
    )
    assert (first["version"], first["total"], first["lines"][0]["unit_price"]) == (1, "11404.75", "1200.50")
    second = created(
        api.post(
            "/v1/quotes",
            headers=r1,
            json={"opportunity_id": opp["id"], "lines": [{"product_id": product["id"], "quantity": "8"}]},
        )
    )
    problem(api.post(f"/v1/quotes/{first['id']}/accept", headers=r1), 422)
    accepted = api.post(f"/v1/quotes/{second['id']}/accept", headers=r1)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
    quotes = api.get("/v1/quotes", headers=mgr, params={"opportunity_id": opp["id"]}).json()["items"]
    assert [(q["version"], q["status"]) for q in quotes] == [(1, "superseded"), (2, "accepted")]

    # PATCH: If-Match required; the commit flag moves the deal into the commit forecast
    problem(api.patch(f"/v1/opportunities/{opp['id']}", headers=r1, json={"commit": True}), 428)
    problem(
        api.patch(
            f"/v1/opportunities/{opp['id']}",
            headers={**r1, "If-Match": f'"{opp["version"]}"'},
            json={"amount": money("-1")},
        ),
        400,
        "amount.amount",
    )
    patched = api.patch(
        f"/v1/opportunities/{opp['id']}",
        headers={**r1, "If-Match": f'"{opp["version"]}"'},
        json={"commit": True, "amount": money("9604.00")},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["commit"], patched.headers["ETag"]) == (True, f'"{int(opp["version"]) + 1}"')
    forecast = api.get("/v1/forecast", headers=r1).json()["items"]
    assert [Decimal(b["commit_amount"]) for b in forecast] == [Decimal("9604.00")]

    # lead assignment rules: reps cannot manage them; the manager routes a region round robin to his team
    problem(api.get("/v1/lead-assignment-rules", headers=r1), 403)
    problem(api.put("/v1/lead-assignment-rules", headers=mgr, json={"rules": [{"region": "岭南"}]}), 400, "rules[0]")
    rules = {"rules": [{"region": f"岭南{suffix}", "team_id": team["id"]}]}
    poll(lambda: api.put("/v1/lead-assignment-rules", headers=mgr, json=rules).status_code == 200)
    assert [
        (r["region"], r["team_id"], r["rep_id"])
        for r in api.get("/v1/lead-assignment-rules", headers=mgr).json()["rules"]
    ] == [(f"岭南{suffix}", team["id"], "")]
    owners = [
        created(
            api.post("/v1/leads", headers=mgr, json={"company_name": f"Lead {i} {suffix}", "region": f"岭南{suffix}"})
        )["owner_id"]
        for i in range(3)
    ]
    first_rep, second_rep = sorted([rep1, rep2])
    assert owners == [first_rep, second_rep, first_rep]
    assert (
        created(api.post("/v1/leads", headers=mgr, json={"company_name": f"Elsewhere {suffix}", "region": "nowhere"}))[
            "status"
        ]
        == "pool"
    )
    cleared = api.put("/v1/lead-assignment-rules", headers=mgr, json={"rules": []})  # leave the table empty
    assert cleared.status_code == 200 and cleared.json().get("rules", []) == [], cleared.text


def test_stage_models_admin_api(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"模型测试组 {suffix}")
    _, rep_token = person(api, admin_token, team["id"], f"model-rep-{suffix}", "rep")
    _, director_token = person(api, admin_token, team["id"], f"model-dir-{suffix}", "director")
    rep, director = auth(rep_token), auth(director_token)
    code = f"line_{suffix}"
    model = {
        "name": "Maintenance contracts",
        "entry_stage": "qualify",
        "stages": [
            {"code": "qualify", "name": "Qualify", "probability": 20, "sla_days": 7},
            {
                "code": "offer",
                "name": "Offer",
                "probability": 60,
                "sla_days": 14,
                "required_facts": [{"code": "offer_document", "name": "Offer", "type": "document", "min_count": 1}],
            },
            {"code": "won", "name": "Won", "probability": 100, "outcome": "won"},
            {"code": "lost", "name": "Lost", "outcome": "lost"},
        ],
    }
    problem(api.put(f"/v1/stage-models/{code}", headers=rep, json=model), 403)
    bad = {**model, "stages": [{**model["stages"][0], "probability": 150}, *model["stages"][1:]]}
    problem(api.put(f"/v1/stage-models/{code}", headers=director, json=bad), 400, "stages[0].probability")
    saved = api.put(f"/v1/stage-models/{code}", headers=director, json=model)
    assert saved.status_code == 200, saved.text
    assert code in [m["code"] for m in api.get("/v1/stage-models", headers=rep).json()["items"]]

    customer_id = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"维保{suffix}有限公司"}))["id"]
    opp = created(
        api.post(
            "/v1/opportunities",
            headers=rep,
            json={
                "customer_id": customer_id,
                "name": "Annual service",
                "amount": money("1000"),
                "expected_close_date": "2027-01-31",
                "stage_model": code,
            },
        )
    )
    assert (opp["stage_model"], opp["stage"], opp["probability"]) == (code, "qualify", 20)
    problem(api.post(f"/v1/opportunities/{opp['id']}/advance", headers=rep, json={}), 422)
    moved = api.post(
        f"/v1/opportunities/{opp['id']}/advance", headers=rep, json={"facts": [document_fact("offer_document")]}
    )
    assert moved.status_code == 200 and (moved.json()["stage"], moved.json()["probability"]) == ("offer", 60)


def test_quote_acceptance_starts_contract_draft_and_lead_csv_import(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    root = root_unit(api, admin_token)
    team = org_unit(api, admin_token, root["id"], f"导入测试组 {suffix}")
    elsewhere = org_unit(api, admin_token, root["id"], f"别处组 {suffix}")
    rep1, rep1_token = person(api, admin_token, team["id"], f"imp-rep1-{suffix}", "rep")
    rep2, _ = person(api, admin_token, team["id"], f"imp-rep2-{suffix}", "rep")
    outsider, _ = person(api, admin_token, elsewhere["id"], f"imp-out-{suffix}", "rep")
    _, mgr_token = person(api, admin_token, team["id"], f"imp-mgr-{suffix}", "manager")
    r1, mgr = auth(rep1_token), auth(mgr_token)

    # accepting a quote with a contract block starts the contract draft from the quote's lines
    product = created(
        api.post(
            "/v1/products",
            headers=auth(admin_token),
            json={"sku": f"C-{suffix}", "name": "Drive unit", "prices": [{"currency": "CNY", "amount": "800"}]},
        )
    )
    customer_id = created(api.post("/v1/customers", headers=r1, json={"legal_name": f"蜀中{suffix}机电有限公司"}))["id"]
    opp = created(
        api.post(
            "/v1/opportunities",
            headers=r1,
            json={
                "customer_id": customer_id,
                "name": "Drives",
                "amount": money("4000"),
                "expected_close_date": "2027-05-31",
            },
        )
    )
    quote = created(
        api.post(
            "/v1/quotes",
            headers=r1,
            json={
                "opportunity_id": opp["id"],
                "lines": [
                    {"product_id": product["id"], "quantity": "5", "discount_kind": "percent", "discount_value": "10"}
                ],
            },
        )
    )
    contract = {"branch_code": "CD", "start_date": "2027-06-01", "end_date": "2028-05-31", "terms": "Net 60"}
    problem(
        api.post(
            f"/v1/quotes/{quote['id']}/accept", headers=r1, json={"contract": {**contract, "end_date": "2027-01-01"}}
        ),
        400,
        "contract.end_date",
    )
    problem(
        api.post(f"/v1/quotes/{quote['id']}/accept", headers=r1, json={"contract": {**contract, "branch_code": "9"}}),
        400,
        "contract.branch_code",
    )
    assert [
        q["status"] for q in api.get("/v1/quotes", headers=r1, params={"opportunity_id": opp["id"]}).json()["items"]
    ] == ["current"]
    accepted = api.post(f"/v1/quotes/{quote['id']}/accept", headers=r1, json={"contract": contract})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["contract_id"]
    draft = api.get(f"/v1/contracts/{accepted.json()['contract_id']}", headers=r1)
    assert draft.status_code == 200, draft.text
    body = draft.json()
    assert (body["customer_id"], body["currency"], body["status"], body["total"]) == (
        customer_id,
        "CNY",
        "draft",
        "3600.00",
    )
    assert [(line["product_id"], line["quantity"], line["discount_percent"]) for line in body["lines"]] == [
        (product["id"], "5", "10")
    ]

    # lead import: CSV in, per-row errors out; assignment rules and scope as for single leads
    region = f"蜀{suffix}"
    rules = {"rules": [{"region": region, "team_id": team["id"]}]}
    poll(lambda: api.put("/v1/lead-assignment-rules", headers=mgr, json=rules).status_code == 200)
    csv_text = (
        "company_name,contact_name,phone,email,region,industry,source,estimated_amount,currency,assign_to\n"
        f"Import A {suffix},张三,13800000000,a@example.com,{region},machinery,fair,1000.50,CNY,\n"
        f",李四,,,{region},,,,,\n"
        f"Import B {suffix},,,,{region},,,,,\n"
        f"Bad amount {suffix},,,,,,,lots,CNY,\n"
        f"Far {suffix},,,,,,,,,{outsider}\n"
        f"Direct {suffix},,,,,,,,,{rep1}\n"
        f"Short row {suffix},only\n"
    )
    csv_headers = {**mgr, "Content-Type": "text/csv"}
    poll(
        lambda: (
            api.post("/v1/leads", headers=mgr, json={"company_name": f"Probe {suffix}", "assign_to": rep1}).status_code
            == 201
        )
    )
    started = api.post("/v1/leads/imports", headers=csv_headers, content=csv_text.encode())
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    result = poll(lambda: (job := api.get(location, headers=mgr).json())["status"] == "done" and job)
    assert (result["total"], result["created"]) == (7, 4)  # the short row's missing cells are empty
    assert [(e["row"], e["column"]) for e in result["errors"]] == [
        (2, "company_name"),
        (4, "estimated_amount"),
        (5, "assign_to"),
    ]
    owners: dict[str, str] = {}
    cursor = ""
    while cursor is not None:
        page = api.get("/v1/leads", headers=mgr, params={"limit": 200, "cursor": cursor}).json()
        owners |= {lead["company_name"]: lead.get("owner_id", "") for lead in page["items"]}
        cursor = page["next_cursor"]
    assert owners[f"Direct {suffix}"] == rep1  # the named rep
    assert sorted([owners[f"Import A {suffix}"], owners[f"Import B {suffix}"]]) == sorted([rep1, rep2])  # round robin

    problem(api.post("/v1/leads/imports", headers=mgr, json={"rows": []}), 415)
    problem(
        api.post("/v1/leads/imports", headers=csv_headers, content=b"company_name,shoe_size\nX,42\n"), 400, "header"
    )
    cleared = api.put("/v1/lead-assignment-rules", headers=mgr, json={"rules": []})
    assert cleared.status_code == 200, cleared.text
