"""Customers end to end through the gateway on the real platform: a rep and his manager in their
own org unit, scope between reps, problem+json for bad input, ownership arbitration decided
from follow-ups that activities publishes and customers consumes, and a merge whose event moves the
loser's opportunity and follow-ups to the winner in pipeline, activities and the 360 view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from salesgrid_dev.api import auth, org_unit, person, poll, root_unit

PASSWORD = "Field-Sales-2026"


def test_customers_scope_bad_input_and_arbitration(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    unit_id = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"客户测试组 {suffix}")["id"]
    rep1, rep1_token = person(api, admin_token, unit_id, f"cust-rep1-{suffix}", "rep")
    rep2, rep2_token = person(api, admin_token, unit_id, f"cust-rep2-{suffix}", "rep")
    _, mgr_token = person(api, admin_token, unit_id, f"cust-mgr-{suffix}", "manager")
    r1, r2, mgr = auth(rep1_token), auth(rep2_token), auth(mgr_token)

    # Bad input: a problem+json 400 naming the field, and nothing created.
    bad = api.post("/v1/customers", headers=r1, json={"legal_name": f"星河{suffix}有限公司", "credit_code": "123"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in bad.json()["errors"]] == ["credit_code"]

    name = f"星河{suffix}科技有限公司"
    first = api.post("/v1/customers", headers=r1, json={"legal_name": name, "tier": "key"})
    assert first.status_code == 201, first.text
    first_id = first.json()["id"]
    assert api.get("/v1/customers", headers=r1).json()["items"][0]["id"] == first_id
    # An exact duplicate is refused naming the owner; a near one is created with a warning.
    duplicate = api.post("/v1/customers", headers=r2, json={"legal_name": f"星河{suffix}科技（北京）有限公司"})
    assert duplicate.status_code == 409 and duplicate.json()["info"]["existing_owner_id"] == rep1
    assert f"cust-rep1-{suffix}" in duplicate.json()["detail"]
    second = api.post("/v1/customers", headers=r2, json={"legal_name": f"星河{suffix}科技服务有限公司"})
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    assert [w["customer_id"] for w in second.json()["duplicate_warnings"]] == [first_id]
    # Both name the owner and his unit (customers' directory replica), so rep2 can ask him to share.
    assert (duplicate.json()["info"]["existing_owner_name"], duplicate.json()["info"]["existing_owner_unit"]) == (
        f"cust-rep1-{suffix}",
        f"客户测试组 {suffix}",
    )
    assert second.json()["duplicate_warnings"][0]["owner_name"] == f"cust-rep1-{suffix}"
    share_request_and_inbox(api, admin_token, r1, r2, first_id)

    # Scope: a rep sees neither another rep's customer nor it in his list; the manager sees both.
    assert api.get(f"/v1/customers/{first_id}", headers=r2).status_code in (403, 404)
    assert first_id not in {c["id"] for c in api.get("/v1/customers", headers=r2).json()["items"]}
    managed = {c["id"] for c in api.get("/v1/customers?limit=100", headers=mgr).json()["items"]}
    assert {first_id, second_id} <= managed
    # Name search, inside the caller's scope: contains for whole grams, a clear 400 for nothing searchable.
    found = api.get("/v1/customers", headers=mgr, params={"q": f"河{suffix}科技服务"}).json()["items"]
    assert [c["id"] for c in found] == [second_id]
    assert [c["id"] for c in api.get("/v1/customers", headers=r2, params={"q": f"星河{suffix}"}).json()["items"]] == [
        second_id
    ]
    unsearchable = api.get("/v1/customers", headers=mgr, params={"q": "（）"})
    assert unsearchable.status_code == 400 and "name search" in unsearchable.json()["detail"]
    assert (
        api.post(
            "/v1/customers/arbitration",
            headers=r1,
            json={"customer_ids": [first_id, second_id], "registered_name": "x"},
        ).status_code
        == 403
    )
    bad = api.post("/v1/customers/arbitration", headers=mgr, json={"customer_ids": [first_id], "registered_name": name})
    assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == ["customer_ids"]

    # rep2 follows his record up first (activities learns of the customer by event, so retry).
    def log_follow_up(headers: dict[str, str], customer_id: str, hours_ago: int) -> bool:
        at = (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
        reply = api.post(
            "/v1/follow-ups",
            headers=headers,
            json={"kind": "call", "occurred_at": at, "notes": "introduced our products", "customer_id": customer_id},
        )
        assert reply.status_code in (201, 400, 404, 422), reply.text
        return reply.status_code == 201

    poll(lambda: log_follow_up(r2, second_id, 5))
    poll(lambda: log_follow_up(r1, first_id, 2))

    # Neither record carries the registered name, so the first follow-up decides, once both are known.
    def arbitrate() -> dict[str, Any] | None:
        reply = api.post(
            "/v1/customers/arbitration",
            headers=mgr,
            json={"customer_ids": [first_id, second_id], "registered_name": f"北京星河{suffix}科技股份有限公司"},
        )
        assert reply.status_code == 201, reply.text
        steps = reply.json()["steps"]
        known = len(steps) > 1 and all(steps[1]["compared"].get(rep) for rep in (rep1, rep2))
        return reply.json() if known else None

    decision = poll(arbitrate)
    assert (decision["winner_rep_id"], decision["winner_customer_id"], decision["rule"]) == (
        rep2,
        second_id,
        "first_follow_up",
    )

    # Customer 360 from the consumed follow-ups; out of another rep's scope.
    overview = api.get(f"/v1/customers/{second_id}/overview", headers=r2)
    assert overview.status_code == 200 and overview.json()["follow_up_count"] == 1
    assert api.get(f"/v1/customers/{second_id}/overview", headers=r1).status_code in (403, 404)

    # rep1 has an opportunity on his record, known to the 360 view before the merge.
    deal = api.post(
        "/v1/opportunities",
        headers=r1,
        json={
            "customer_id": first_id,
            "name": "Line upgrade",
            "amount": {"amount": "100000", "currency": "CNY"},
            "expected_close_date": f"{datetime.now(UTC).year + 1}-03-31",
        },
    )
    assert deal.status_code == 201, deal.text
    deal_id = deal.json()["id"]
    poll(lambda: api.get(f"/v1/customers/{first_id}/overview", headers=r1).json()["open_opportunities"] == 1)

    # The manager merges the loser into the winner: the loser is gone, its history counts for the winner.
    assert (
        api.post("/v1/customers/merge", headers=mgr, json={"survivor_id": second_id, "duplicate_ids": []}).status_code
        == 400
    )
    merged = api.post("/v1/customers/merge", headers=mgr, json={"survivor_id": second_id, "duplicate_ids": [first_id]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["merged_ids"] == [first_id] and merged.json()["tier"] == "key"
    assert api.get(f"/v1/customers/{first_id}", headers=mgr).status_code == 404
    assert api.get(f"/v1/customers/{second_id}/overview", headers=r2).json()["follow_up_count"] == 2

    # Every service re-attaches the loser's records from the merge event: the winner's lists and
    # 360 view show its opportunity and follow-ups, and the merged id still finds them.
    def listed(path: str, customer_id: str) -> set[str]:
        reply = api.get(path, headers=mgr, params={"customer_id": customer_id, "limit": 100})
        assert reply.status_code == 200, reply.text
        return {item["id"] for item in reply.json()["items"]}

    poll(lambda: listed("/v1/opportunities", second_id) == {deal_id})
    assert listed("/v1/opportunities", first_id) == {deal_id}
    assert api.get(f"/v1/opportunities/{deal_id}", headers=mgr).json()["customer_id"] == second_id
    poll(lambda: len(listed("/v1/follow-ups", second_id)) == 2)
    assert listed("/v1/follow-ups", first_id) == listed("/v1/follow-ups", second_id)
    view = api.get(f"/v1/customers/{second_id}/overview", headers=r2).json()
    assert (view["open_opportunities"], view["follow_up_count"]) == (1, 2)
    # rep1 keeps sight of his history as a collaborator; filters work inside the scope.
    assert api.get(f"/v1/customers/{second_id}", headers=r1).status_code == 200
    tagged = api.get(f"/v1/customers?unit_id={unit_id}&tier=key", headers=mgr).json()["items"]
    assert [c["id"] for c in tagged] == [second_id]
    bad = api.get("/v1/customers?updated_since=yesterday", headers=mgr)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


def share_request_and_inbox(
    api: httpx.Client, admin_token: str, owner: dict[str, str], asker: dict[str, str], customer_id: str
) -> None:
    """rep2 asks rep1 to share; rep1 finds the request in his inbox (activities, fed by the
    customers event) and declines; rep2 finds the decision in his; identity audits both steps."""
    asked = api.post(f"/v1/customers/{customer_id}/share-requests", headers=asker, json={"message": "same project"})
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]

    def inbox_item(headers: dict[str, str], kind: str) -> dict[str, Any] | None:
        items = api.get("/v1/inbox", headers=headers, params={"kind": kind}).json()["items"]
        return next((i for i in items if i["record"] == {"type": "share_request", "id": request_id}), None)

    item = poll(lambda: inbox_item(owner, "share_requested"))
    assert not item["read"] and api.get("/v1/inbox/unread-count", headers=owner).json()["unread"] >= 1
    assert api.post(f"/v1/inbox/{item['id']}/read", headers=owner).json()["read"] is True
    declined = api.post(f"/v1/share-requests/{request_id}/decline", headers=owner, json={"note": "mine"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    poll(lambda: inbox_item(asker, "share_request_decided"))
    audit = poll(
        lambda: (
            {
                e["action"]
                for e in api.get(
                    "/v1/audit-events",
                    headers=auth(admin_token),
                    params={"action": "customers.share_request", "target_id": request_id},
                ).json()["items"]
            }
            >= {"customers.share_request.created", "customers.share_request.declined"}
        )
    )
    assert audit


def test_customers_import_csv_through_the_gateway(api: httpx.Client, admin_token: str) -> None:
    """A CSV import runs asynchronously under the importer's own rules: good rows become customers,
    a duplicate inside the file and a bad tier come back as per-row errors naming the column."""
    tag = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"Import team {tag}", kind="team")
    _, rep = person(api, admin_token, team["id"], f"importer.{tag}", "rep")
    csv = (
        "\ufefflegal_name,tier,industry\n"
        f"杭州导入{tag}一号有限公司,key,制造业\n"
        f"杭州导入{tag}二号有限公司,normal,零售\n"
        f"杭州导入{tag}一号有限公司,key,制造业\n"
        f"杭州导入{tag}三号有限公司,platinum,零售\n"
    )
    started = api.post("/v1/customers/imports", content=csv.encode(), headers={**auth(rep), "Content-Type": "text/csv"})
    assert started.status_code == 202, started.text
    job_url = started.headers["Location"]
    done = poll(lambda: (j := api.get(job_url, headers=auth(rep)).json())["status"] == "done" and j, timeout=30)
    assert (done["total"], done["created"], done["failed"]) == (4, 2, 2)
    errors = {(e["row"], e["column"]) for e in done["errors"]}
    assert errors == {(3, "legal_name"), (4, "tier")}
    names = {c["legal_name"] for c in api.get("/v1/customers", headers=auth(rep)).json()["items"]}
    assert {f"杭州导入{tag}一号有限公司", f"杭州导入{tag}二号有限公司"} <= names
    wrong_type = api.post("/v1/customers/imports", content=b"x", headers={**auth(rep), "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415


def test_customers_import_streams_a_large_body(api: httpx.Client, admin_token: str) -> None:
    """A body larger than the gateway's 1 MiB chunks streams through and arrives whole: every row is
    staged, and every row is refused by the create rules (an address too long), none lost."""
    tag = uuid.uuid4().hex[:8]
    team = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"Bulk import team {tag}", kind="team")
    _, rep = person(api, admin_token, team["id"], f"bulk.importer.{tag}", "rep")
    rows = [f"批量{tag}第{i}号有限公司,{'浙江省杭州市西湖区' * (200 + i % 7)}\n" for i in range(250)]
    body = ("legal_name,address\n" + "".join(rows)).encode()
    assert len(body) > 1 << 20
    started = api.post("/v1/customers/imports", content=body, headers={**auth(rep), "Content-Type": "text/csv"})
    assert started.status_code == 202, started.text
    assert started.json()["total"] == len(rows)
    done = poll(
        lambda: (j := api.get(started.headers["Location"], headers=auth(rep)).json())["status"] == "done" and j,
        timeout=30,
    )
    assert (done["created"], done["failed"]) == (0, len(rows))
    assert {e["column"] for e in done["errors"]} == {"address"}
