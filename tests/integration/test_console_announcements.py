"""The console's Today page shows a rep his unread announcements (新闻公告); reading one there is
the publisher's read receipt. A sales administrator finds a follow-up of the weekly spot check
(每周抽查) false and the rep's manager sees it in the falsification ledger (虚报). Drives Debian's
Chromium against the real platform (whose activities service draws spot checks every 3 s, see
conftest.py)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import auth, created, org_unit, person, poll, replicated, root_unit
from salesgrid_dev.browser import log_in
from salesgrid_dev.platform import Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, expect

expect.set_options(timeout=15_000)


def test_a_rep_reads_an_announcement_on_his_day(
    context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Notice team {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin_token, unit["id"], f"notice-mgr-{suffix}", "manager")
    rep_id, _ = person(api, admin_token, unit["id"], f"notice-rep-{suffix}", "rep", manager_id)
    manager = auth(manager_token)
    replicated(platform, admin_token, [manager_id, rep_id], service="activities")

    def publish() -> dict[str, Any] | None:  # activities learns of the unit asynchronously too
        reply = api.post(
            "/v1/announcements",
            headers=manager,
            json={"unit_id": unit["id"], "title": f"月度例会 {suffix}", "body": "周五下午三点,三楼会议室。"},
        )
        return reply.json() if reply.status_code == 201 else None

    announcement = poll(publish)
    assert announcement["recipients"] == 2
    page = context.new_page()
    log_in(page, platform, f"notice-rep-{suffix}")
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    card = page.get_by_test_id("announcements")
    expect(card).to_contain_text(f"月度例会 {suffix}")
    expect(card).to_contain_text("三楼会议室")
    card.get_by_role("button", name=f"Mark read: 月度例会 {suffix}").click()
    expect(card).to_contain_text("No new announcements.")
    receipts = created(api.get(f"/v1/announcements/{announcement['id']}/receipts", headers=manager), 200)
    assert (receipts["recipients"], receipts["read"]) == (2, 1)


def test_a_sales_admin_finds_a_follow_up_false_and_the_manager_sees_it_in_the_ledger(
    browser: Browser, context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Checks {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, _ = person(api, admin_token, unit["id"], f"checks-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, unit["id"], f"checks-rep-{suffix}", "rep", manager_id)
    rep = auth(rep_token)

    def customer() -> dict[str, Any] | None:
        reply = api.post("/v1/customers", headers=rep, json={"legal_name": f"闵行{suffix}物流有限公司"})
        return reply.json() if reply.status_code == 201 else None

    customer_id = poll(customer)["id"]
    # A visit on the Wednesday of the rep's last ended week (Shanghai), the week the draw samples.
    shanghai_today = (datetime.now(UTC) + timedelta(hours=8)).date()
    wednesday = shanghai_today - timedelta(days=shanghai_today.weekday() + 5)
    body = {
        "kind": "visit",
        "occurred_at": f"{wednesday}T02:00:00Z",
        "notes": f"仓库参观 {suffix}",
        "customer_id": customer_id,
    }
    poll(lambda: api.post("/v1/follow-ups", headers=rep, json=body).status_code == 201)
    # The administrator over the rep comes last: until then the rep's week waits to be drawn.
    admin_id, admin_check_token = person(api, admin_token, unit["id"], f"checks-admin-{suffix}", "sales_admin")
    replicated(platform, admin_token, [manager_id, rep_id, admin_id], service="activities")
    poll(lambda: api.get("/v1/spot-checks", headers=auth(admin_check_token), params={"mine": "true"}).json()["items"])

    page = context.new_page()
    log_in(page, platform, f"checks-admin-{suffix}")
    page.goto(f"{platform.gateway_url}/console/#/spot-checks")
    queue = page.get_by_test_id("spot-check-queue")
    expect(queue).to_contain_text(f"仓库参观 {suffix}")
    verdict = queue.get_by_role("form", name=re.compile("^Verdict on the follow-up of "))
    verdict.get_by_label("Note (required when false)").fill("客户说当天没有人来过")
    verdict.get_by_role("button", name="False", exact=True).click()
    expect(page.get_by_text("Nothing to verify.")).to_be_visible()

    manager = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        page = manager.new_page()
        log_in(page, platform, f"checks-mgr-{suffix}")
        page.goto(f"{platform.gateway_url}/console/#/spot-checks")
        ledger = page.get_by_test_id("ledger")
        row = ledger.get_by_role("row").filter(has_text=f"checks-rep-{suffix}")
        expect(row.get_by_role("cell").nth(1)).to_have_text("1")
        expect(row).to_contain_text("50.00")
        expect(ledger.get_by_role("listitem").filter(has_text=f"checks-rep-{suffix}")).to_contain_text("Follow-up")
    finally:
        manager.close()
