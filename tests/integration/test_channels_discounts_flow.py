"""Special-discount approval and sales channels end to end through the gateway on the real
platform: an admin's per-unit threshold, a rep's deep discount waiting on his manager before the
quote can be accepted; an account made an agent partner in customers, and pipeline accepting an
opportunity attributed to it once customers' event has reached it."""

from __future__ import annotations

import uuid

import httpx
from salesgrid_dev.platform import Platform
from salesgrid_dev.api import auth, created, money, org_unit, person, poll, problem, replicated, root_unit


def test_special_discount_approved_by_the_manager_then_accepted(
    api: httpx.Client, admin_token: str, platform: Platform
) -> None:
    suffix = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"特批测试组 {suffix}")
    mgr_id, mgr_token = person(api, admin_token, team["id"], f"disc-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, team["id"], f"disc-rep-{suffix}", "rep", manager_id=mgr_id)
    rep, mgr, admin = auth(rep_token), auth(mgr_token), auth(admin_token)
    # The discount's approval walks the management chain in pipeline's replica of the directory.
    replicated(platform, admin_token, [mgr_id, rep_id], service="pipeline")
    problem(
        api.put(
            f"/v1/org-units/{team['id']}/discount-policy",
            headers=admin,
            json={"threshold_percent": "5", "director_above_percent": "2"},
        ),
        400,
        "director_above_percent",
    )
    problem(
        api.put(
            f"/v1/org-units/{team['id']}/discount-policy",
            headers=rep,
            json={"threshold_percent": "50", "director_above_percent": "60"},
        ),
        403,
    )
    policy = api.put(
        f"/v1/org-units/{team['id']}/discount-policy",
        headers=admin,
        json={"threshold_percent": "5", "director_above_percent": "15"},
    )
    assert policy.status_code == 200, policy.text
    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={"sku": f"D-{suffix}", "name": "Compressor", "prices": [{"currency": "CNY", "amount": "3000"}]},
        )
    )
    customer_id = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"蜀中{suffix}机械有限公司"}))[
        "id"
    ]
    opp = created(
        api.post(
            "/v1/opportunities",
            headers=rep,
            json={
                "customer_id": customer_id,
                "name": "Compressors",
                "amount": money("30000"),
                "expected_close_date": "2027-05-31",
            },
        )
    )

    quote = created(
        api.post(
            "/v1/quotes",
            headers=rep,
            json={
                "opportunity_id": opp["id"],
                "lines": [
                    {"product_id": product["id"], "quantity": "10", "discount_kind": "percent", "discount_value": "8"}
                ],
            },
        )
    )
    assert (quote["discount_rate"], quote["discount_approval"]) == ("8.00", "pending")
    assert [(s["role"], s["approver_id"]) for s in quote["approval_steps"]] == [("manager", mgr_id)]
    problem(api.post(f"/v1/quotes/{quote['id']}/accept", headers=rep), 422)
    problem(api.post(f"/v1/quotes/{quote['id']}/discount-approval/approve", headers=rep), 403)
    waiting = api.get("/v1/quote-approvals", headers=mgr).json()["items"]
    assert [q["id"] for q in waiting] == [quote["id"]]
    approved = api.post(f"/v1/quotes/{quote['id']}/discount-approval/approve", headers=mgr, json={"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["discount_approval"] == "approved", approved.text
    accepted = api.post(f"/v1/quotes/{quote['id']}/accept", headers=rep)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text


def test_agent_partner_attributed_to_an_opportunity(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"渠道测试组 {suffix}")
    _, rep_token = person(api, admin_token, team["id"], f"chan-rep-{suffix}", "rep")
    rep = auth(rep_token)
    partner = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"闽南{suffix}代理有限公司"}))
    buyer = created(api.post("/v1/customers", headers=rep, json={"legal_name": f"闽北{suffix}水泥有限公司"}))
    problem(
        api.put(
            f"/v1/customers/{partner['id']}/partner-profile", headers=rep, json={"channel": "agent", "tier": "gold"}
        ),
        428,
    )
    problem(
        api.put(
            f"/v1/customers/{partner['id']}/partner-profile",
            headers={**rep, "If-Match": '"1"'},
            json={"channel": "agent", "tier": "diamond"},
        ),
        400,
        "tier",
    )
    made = api.put(
        f"/v1/customers/{partner['id']}/partner-profile",
        headers={**rep, "If-Match": '"1"'},
        json={"channel": "agent", "tier": "gold"},
    )
    assert made.status_code == 200 and made.json()["partner_channel"] == "agent", made.text
    assert [c["id"] for c in api.get("/v1/partners", headers=rep).json()["items"]] == [partner["id"]]

    request = {
        "customer_id": buyer["id"],
        "name": "Cement line",
        "amount": money("80000"),
        "expected_close_date": "2027-06-30",
        "channel": "distributor",
        "partner_id": partner["id"],
    }
    problem(api.post("/v1/opportunities", headers=rep, json=request), 400, "partner_id")  # an agent, not a distributor

    def attributed() -> dict | None:  # type: ignore[type-arg]
        reply = api.post("/v1/opportunities", headers=rep, json={**request, "channel": "agent"})
        return reply.json() if reply.status_code == 201 else None  # until pipeline has seen the partner

    opp = poll(attributed)
    assert (opp["channel"], opp["partner_id"]) == ("agent", partner["id"])
    problem(api.get("/v1/analytics/channels", headers=rep, params={"by": "partner"}), 400, "period")
    report = api.get("/v1/analytics/channels", headers=rep, params={"by": "partner", "period": "2026"})
    assert report.status_code == 200 and report.json()["by"] == "partner", report.text
