"""The console's Today page shows a rep his unread announcements (新闻公告); reading one there is
the publisher's read receipt. Drives Debian's Chromium against the real platform."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import auth, created, org_unit, person, poll, replicated, root_unit
from salesgrid_dev.browser import log_in
from salesgrid_dev.platform import Platform

pytest.importorskip("playwright")
from playwright.sync_api import BrowserContext, expect

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
