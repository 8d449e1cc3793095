"""Printed documents and announcements end to end through the gateway on the real platform: a
contract made from the company template, approved and signed; its receipt printed as a numbered
PDF (read back), reprinted as a copy, every print in identity's audit trail; the manager's
announcement to his branch reaching the rep's inbox through the event stream, read there, and
counted in the manager's read receipts."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from pypdf import PdfReader
from salesgrid_dev.api import auth, created, poll, problem, replicated
from salesgrid_dev.platform import Platform

PASSWORD = "Documents-Flow-2026"


def text_of(reply: httpx.Response) -> str:
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/pdf", reply.text
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(reply.content)).pages)


def test_printed_receipts_and_announcements(platform: Platform, api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    admin = auth(admin_token)
    root = next(u for u in api.get("/v1/org-units", headers=admin).json()["items"] if not u["parent_id"])
    branch = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={
                "parent_id": root["id"],
                "name": f"Hangzhou {suffix}",
                "code": f"h{suffix}",
                "kind": "branch",
                "time_zone": "Asia/Shanghai",
                "currency": "CNY",
            },
        )
    )
    team = created(
        api.post(
            "/v1/org-units",
            headers=admin,
            json={"parent_id": branch["id"], "name": f"Team {suffix}", "code": f"t{suffix}", "kind": "team"},
        )
    )

    def user(name: str, display: str, unit: dict, role: str, manager: dict | None = None) -> dict:  # type: ignore[type-arg]
        body = {
            "login": f"{name}.{suffix}",
            "display_name": display,
            "unit_id": unit["id"],
            "roles": [role],
            "initial_password": PASSWORD,
            "password_change_required": False,
        }
        if manager:
            body["manager_id"] = manager["id"]
        return created(api.post("/v1/users", headers=admin, json=body))

    manager = user("manager", "李娜", branch, "manager")
    rep = user("rep", "张伟", team, "rep", manager)
    replicated(platform, admin_token, [manager["id"], rep["id"]])
    replicated(platform, admin_token, [manager["id"], rep["id"]], service="activities")
    tokens = {
        name: auth(
            created(api.post("/v1/auth/login", json={"login": p["login"], "password": PASSWORD}), 200)["access_token"]
        )
        for name, p in (("manager", manager), ("rep", rep))
    }

    # --- a receipt printed by the system (收据必须通过系统打印) ---------------------------------
    created(
        api.put(
            f"/v1/contract-templates/std-{suffix}",
            headers=admin,
            json={"name": "销售合同(标准文本)", "terms": "第一条 验收后30日内付清。"},
        ),
        200,
    )
    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={"sku": f"DOC-{suffix}", "name": "CRM 座席", "prices": [{"currency": "CNY", "amount": "1000.00"}]},
        )
    )
    today = datetime.now(UTC).date()
    contract = created(
        api.post(
            "/v1/contracts",
            headers=tokens["rep"],
            json={
                "customer_id": f"cust-{suffix}",
                "branch_code": "HZ",
                "currency": "CNY",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=365)).isoformat(),
                "template_id": f"std-{suffix}",
                "lines": [{"product_id": product["id"], "quantity": "3"}],
            },
        )
    )
    cid = contract["id"]
    problem(api.post(f"/v1/contracts/{cid}/print", headers=tokens["rep"]), 422, "status")  # not approved yet
    created(api.post(f"/v1/contracts/{cid}/submit", headers=tokens["rep"]), 200)
    created(api.post(f"/v1/contracts/{cid}/approve", headers=tokens["manager"]), 200)
    created(api.post(f"/v1/contracts/{cid}/sign", headers=tokens["rep"]), 200)
    printed_contract = text_of(api.post(f"/v1/contracts/{cid}/print", headers=tokens["rep"]))
    assert "销售合同(标准文本)" in printed_contract and contract["number"] in printed_contract

    paid = created(
        api.post(
            "/v1/receipts",
            headers=tokens["rep"],
            json={"contract_id": cid, "amount": "1500.00", "method": "bank_transfer"},
        )
    )
    problem(api.post(f"/v1/receipts/{paid['id']}/print", headers=tokens["rep"], json={}), 400, "payer_name")
    first = api.post(f"/v1/receipts/{paid['id']}/print", headers=tokens["rep"], json={"payer_name": "杭州星辰"})
    number = first.headers["X-Document-Number"]
    assert re.fullmatch(rf"HZ-{datetime.now(ZoneInfo('Asia/Shanghai')).year}-R\d{{6}}", number), number
    text = text_of(first)
    assert number in text and "CNY 1,500.00" in text and "杭州星辰" in text and "张伟" in text and "COPY" not in text
    again = api.post(f"/v1/receipts/{paid['id']}/print", headers=tokens["rep"])
    assert again.headers["X-Copy-Number"] == "1" and "副本 COPY 1" in text_of(again)
    # every print is in the audit trail, with the one who printed
    audit = poll(
        lambda: (lambda page: page if len(page["items"]) >= 3 else None)(
            created(
                api.get(f"/v1/audit-events?action=contracts.document.printed&actor_id={rep['id']}", headers=admin), 200
            )
        )
    )
    assert len(audit["items"]) == 3  # the contract, the receipt and its copy

    # --- an announcement to the branch (新闻公告发布) -------------------------------------------
    problem(
        api.post("/v1/announcements", headers=tokens["rep"], json={"unit_id": branch["id"], "title": "x", "body": "y"}),
        403,
    )
    published = created(
        api.post(
            "/v1/announcements",
            headers=tokens["manager"],
            json={"unit_id": branch["id"], "title": f"例会 {suffix}", "body": "周五下午三点。"},
        )
    )
    assert published["recipients"] == 2  # the manager and the rep below him
    item = poll(lambda: next(iter(api.get("/v1/inbox?kind=announcement", headers=tokens["rep"]).json()["items"]), None))
    assert item["record"] == {"type": "announcement", "id": published["id"]}
    created(api.post(f"/v1/inbox/{item['id']}/read", headers=tokens["rep"]), 200)
    receipts = created(api.get(f"/v1/announcements/{published['id']}/receipts", headers=tokens["manager"]), 200)
    assert (receipts["recipients"], receipts["read"], receipts["unread"]) == (2, 1, 1)
