"""The console in Chromium against the real platform, continued: the public pool shows a rep his
allowance and his own cool-downs before he claims; his Today page lists the SLA and pool-return
reminders of his inbox (raised by real events on NATS); a duplicate warning lets him ask the owner
to share, and the owner accepts on his Today page; a manager assigns leads to his reps; an
administrator edits the org tree, creates a role with its data scopes and exports customers with
progress."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from salesgrid.events.v1.customers_events_pb2 import CustomerPoolReturnWarning
from salesgrid.events.v1.pipeline_events_pb2 import PipelineSlaNotice
from salesgrid_common.events.envelope import EventMeta, build_envelope
from salesgrid_dev.api import auth, created, org_unit, person, poll, root_unit
from salesgrid_dev.browser import log_in
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, expect

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def team(api: httpx.Client, admin_token: str) -> dict[str, Any]:
    """A unit whose pool allows one claim a day and a 3-day cool-down; a manager and two reps."""
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Pool team {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin_token, unit["id"], f"work-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, unit["id"], f"work-rep-{suffix}", "rep", manager_id)
    other_id, other_token = person(api, admin_token, unit["id"], f"work-rep2-{suffix}", "rep", manager_id)
    poll(
        lambda: (
            api.put(
                f"/v1/pool-policies/{unit['id']}",
                headers=auth(admin_token),
                json={
                    "max_customers_per_rep": 50,
                    "max_claims_per_day": 1,
                    "reclaim_cooldown_days": 3,
                    "warning_days_before": 1,
                    "return_after_days_without_follow_up": 30,
                },
            ).status_code
            == 200
        )
    )
    # The pipeline knows the reps once a lead can be assigned to each.
    for rep in (rep_id, other_id):
        poll(
            lambda rep=rep: (
                api.post(
                    "/v1/leads",
                    headers=auth(manager_token),
                    json={"company_name": f"Warm-up {suffix}", "assign_to": rep},
                ).status_code
                == 201
            )
        )
    return {
        "suffix": suffix,
        "unit": unit,
        "manager_id": manager_id,
        "manager_token": manager_token,
        "rep_id": rep_id,
        "rep_token": rep_token,
        "other_id": other_id,
        "other_token": other_token,
        "manager_login": f"work-mgr-{suffix}",
        "rep_login": f"work-rep-{suffix}",
        "other_login": f"work-rep2-{suffix}",
    }


def customer_of(api: httpx.Client, token: str, name: str) -> dict[str, Any]:
    def create() -> dict[str, Any] | None:
        reply = api.post("/v1/customers", headers=auth(token), json={"legal_name": name})
        return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

    return poll(create)  # type: ignore[no-any-return]


def test_the_pool_shows_the_allowance_and_cool_downs_before_the_claim(
    context: BrowserContext, platform: Platform, api: httpx.Client, team: dict[str, Any]
) -> None:
    rep, other = auth(team["rep_token"]), auth(team["other_token"])
    mine = customer_of(api, team["rep_token"], f"自放{team['suffix']}贸易有限公司")
    theirs = customer_of(api, team["other_token"], f"他放{team['suffix']}贸易有限公司")
    created(api.post(f"/v1/customers/{mine['id']}/release", headers=rep, json={"reason": "no budget"}), 200)
    created(api.post(f"/v1/customers/{theirs['id']}/release", headers=other, json={"reason": "moved"}), 200)

    page = context.new_page()
    log_in(page, platform, team["rep_login"])
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    page.goto(f"{platform.gateway_url}/console/#/customers/pool")
    allowance = page.get_by_test_id("pool-policy")
    expect(allowance).to_contain_text("Claims today0 of 1")
    expect(allowance).to_contain_text("claimed back by you only after 3 days")
    own_row = page.locator(f'li[data-id="{mine["id"]}"]')
    expect(own_row).to_contain_text("You may claim it back from")
    expect(own_row.get_by_role("button")).to_have_count(0)  # no claim offered during the cool-down
    page.locator(f'li[data-id="{theirs["id"]}"]').get_by_role("button", name=re.compile("^Claim")).click()
    expect(page.get_by_role("heading", level=1, name=re.compile(theirs["legal_name"]))).to_be_visible()
    assert api.get(f"/v1/customers/{theirs['id']}", headers=rep).json()["owner_id"] == team["rep_id"]

    # Today's one claim is used: the pool says so and offers no claim.
    page.goto(f"{platform.gateway_url}/console/#/customers/pool")
    expect(page.get_by_test_id("pool-policy")).to_contain_text("Claims today1 of 1")
    expect(page.get_by_test_id("pool-blocked")).to_contain_text("used today's claims")
    for button in page.locator("li[data-id]").get_by_role("button", name=re.compile("^Claim")).all():
        expect(button).to_be_disabled()


def publish(platform: Platform, event_type: str, producer: str, payload: Message, meta: EventMeta) -> None:
    """An event as its producer's outbox relay publishes it (the pool scan and the SLA engine raise
    theirs only after days): activities' inbox consumers turn it into the owner's notice."""
    envelope = build_envelope(event_type, producer, payload, meta, datetime.now(UTC))

    async def send() -> None:
        connection = await nats.connect(f"nats://127.0.0.1:{platform.ports.nats}")
        try:
            await connection.jetstream().publish(
                event_type, envelope.SerializeToString(), headers={"Nats-Msg-Id": envelope.event_id}
            )
        finally:
            await connection.close()

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's event loop
        thread.submit(asyncio.run, send()).result()


def test_reminders_and_a_share_request_asked_from_a_duplicate_and_accepted(
    context: BrowserContext, browser: Browser, platform: Platform, api: httpx.Client, team: dict[str, Any]
) -> None:
    rep = auth(team["rep_token"])
    owned = customer_of(api, team["rep_token"], f"提醒{team['suffix']}电子有限公司")
    me = api.get("/v1/me", headers=rep).json()
    publish(
        platform,
        "salesgrid.customers.customer.pool_return_warning",
        "customers",
        CustomerPoolReturnWarning(
            customer_id=owned["id"], owner_id=team["rep_id"], rule="no_follow_up", due_at="2031-01-05T02:00:00Z"
        ),
        EventMeta(aggregate_id=owned["id"], actor_id="system:customers", org_path=me["org_path"]),
    )
    due = Timestamp()
    due.FromDatetime(datetime(2031, 1, 2, tzinfo=UTC))
    deal = str(uuid.uuid4())
    publish(
        platform,
        "salesgrid.pipeline.sla.overdue",
        "pipeline",
        PipelineSlaNotice(
            opportunity_id=deal,
            stage="bidding",
            level="overdue",
            recipient_ids=[team["manager_id"]],
            due_at=due,
            owner_id=team["rep_id"],
        ),
        EventMeta(aggregate_id=deal, actor_id="system:pipeline", org_path=me["org_path"]),
    )

    def delivered() -> list[dict[str, Any]] | None:
        items = api.get("/v1/inbox", headers=rep, params={"unread": "true"}).json()["items"]
        found = [n for n in items if n["kind"] in ("pool_return_warning", "sla_overdue")]
        return found if len(found) == 2 else None

    notices = poll(delivered)
    warning = next(n["id"] for n in notices if n["kind"] == "pool_return_warning")
    theirs = customer_of(api, team["other_token"], f"共享{team['suffix']}精工有限公司")

    page = context.new_page()
    log_in(page, platform, team["rep_login"])
    reminders = page.get_by_test_id("reminders")
    expect(reminders.locator("li")).to_have_count(2)
    expect(reminders.locator("li").first).to_contain_text("SLA")  # the more urgent kind first
    pool_item = reminders.locator('li[data-kind="pool_return_warning"]')
    expect(pool_item.get_by_role("link")).to_have_attribute("href", f"#/customers/{owned['id']}")
    pool_item.get_by_role("button", name=re.compile("^Mark read")).click()
    expect(reminders.locator("li")).to_have_count(1)
    still = api.get("/v1/inbox", headers=rep, params={"unread": "true", "kind": "pool_return_warning"}).json()
    assert warning not in [n["id"] for n in still["items"]]

    # The name he types is someone else's customer: he asks its owner to share it.
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("form", name="New customer").get_by_label("Legal name").fill(theirs["legal_name"])
    duplicates = page.get_by_test_id("duplicates")
    expect(duplicates).to_contain_text(f"Owned by {team['other_login']} ({team['unit']['name']})")
    duplicates.get_by_role("button", name=f"Ask to share {theirs['legal_name']}").click()
    expect(duplicates).to_contain_text(f"Asked: {team['other_login']} will decide.")
    assert api.get(f"/v1/customers/{theirs['id']}", headers=rep).status_code == 403

    owner_context = browser.new_context(locale="en-US")
    try:
        owner = owner_context.new_page()
        log_in(owner, platform, team["other_login"])
        requests = owner.get_by_test_id("share-requests")
        expect(requests).to_contain_text(f"{team['rep_login']} asks to share {theirs['legal_name']}")
        requests.get_by_label("Note (optional)").fill("Same project, go ahead")
        requests.get_by_role("button", name="Accept").click()
        expect(requests).to_contain_text("No one is waiting for your decision.")
    finally:
        owner_context.close()
    assert api.get(f"/v1/customers/{theirs['id']}", headers=rep).status_code == 200


def test_a_manager_assigns_leads_to_his_reps(
    context: BrowserContext, platform: Platform, api: httpx.Client, team: dict[str, Any]
) -> None:
    manager = auth(team["manager_token"])
    waiting = created(
        api.post(
            "/v1/leads",
            headers=manager,
            json={"company_name": f"线索{team['suffix']}自动化", "contact_name": "赵工", "region": "华东"},
        )
    )
    assert waiting["status"] == "pool"
    page = context.new_page()
    log_in(page, platform, team["manager_login"])
    page.get_by_role("link", name="Team").click()
    row = page.get_by_test_id("lead-pool").locator(f'li[data-id="{waiting["id"]}"]')
    row.get_by_role("button", name="Assign").click()
    expect(row.locator('.field-error[data-for="rep_id"]')).to_have_text("Choose a rep")
    row.get_by_label("Rep").select_option(team["rep_id"])
    row.get_by_role("button", name="Assign").click()
    expect(row).to_contain_text(f"Assigned to {team['rep_login']}.")
    lead = api.get(f"/v1/leads/{waiting['id']}", headers=manager).json()
    assert (lead["status"], lead["owner_id"]) == ("assigned", team["rep_id"])

    new = page.get_by_role("form", name="New lead for a rep")
    new.get_by_label("Company").fill(f"直派{team['suffix']}科技")
    new.get_by_label("Rep").select_option(team["other_id"])
    new.get_by_role("button", name="Create lead").click()
    expect(page.locator("#toast")).to_contain_text("Lead assigned.")
    leads = api.get("/v1/leads", headers=manager, params={"owner_id": team["other_id"], "limit": 50}).json()["items"]
    assert f"直派{team['suffix']}科技" in [x["company_name"] for x in leads]


def test_an_admin_edits_the_org_tree_creates_a_role_and_exports_customers(
    context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str, team: dict[str, Any]
) -> None:
    admin = auth(admin_token)
    page = context.new_page()
    log_in(page, platform, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Org tree").click()

    # A team's zone and IP allow-list edited in place; a bad address is named beside its field.
    unit = page.get_by_test_id("org-tree").locator(f'li[data-unit="{team["unit"]["id"]}"]')
    unit.locator("summary").first.click()
    edit = page.get_by_role("form", name=f"Edit {team['unit']['name']}")
    edit.get_by_label("IP allow-list (CIDRs)").fill("10.8.0.0/16, not-an-address")
    edit.get_by_role("button", name="Save").click()
    expect(edit.locator('.field-error[data-for="ip_allowlist"]')).not_to_be_empty()
    edit.get_by_label("IP allow-list (CIDRs)").fill("10.8.0.0/16")
    edit.get_by_label("Time zone").fill("Asia/Urumqi")
    edit.get_by_role("button", name="Save").click()
    expect(page.locator("#toast")).to_contain_text(f"{team['unit']['name']} saved.")
    saved = api.get(f"/v1/org-units/{team['unit']['id']}", headers=admin).json()
    assert (saved["time_zone"], saved["ip_allowlist"]) == ("Asia/Urumqi", ["10.8.0.0/16"])
    api.patch(
        f"/v1/org-units/{team['unit']['id']}",
        headers={**admin, "If-Match": f'"{saved["version"]}"'},
        json={"time_zone": "Asia/Shanghai", "ip_allowlist": []},
    )  # the other tests log in from 127.0.0.1

    new_unit = page.get_by_role("form", name="New org unit")
    new_unit.get_by_label("Parent unit").select_option(team["unit"]["id"])
    new_unit.get_by_label("Name").fill(f"East desk {team['suffix']}")
    new_unit.get_by_label("Kind").select_option("team")
    new_unit.get_by_role("button", name="Create unit").click()
    expect(page.get_by_test_id("org-tree")).to_contain_text(f"East desk {team['suffix']}")
    units = api.get("/v1/org-units", headers=admin).json()["items"]
    assert any(u["name"] == f"East desk {team['suffix']}" and u["parent_id"] == team["unit"]["id"] for u in units)

    # A custom role: permissions with their data scopes.
    page.get_by_role("link", name="Roles and data scopes").click()
    role = page.get_by_role("form", name="New role")
    code = f"field_audit_{team['suffix']}"
    role.get_by_label("Code").fill(code)
    role.get_by_label("Name").fill("Field auditor")
    role.get_by_label("customers:read", exact=True).select_option("team")
    role.get_by_label("activities:read", exact=True).select_option("subtree")
    role.get_by_role("button", name="Create role").click()
    expect(page.get_by_test_id("roles").locator(f'li[data-role="{code}"]')).to_contain_text("Field auditor")
    made = next(r for r in api.get("/v1/roles", headers=admin).json()["items"] if r["code"] == code)
    assert sorted((p["name"], p["scope"]) for p in made["permissions"]) == [
        ("activities:read", "subtree"),
        ("customers:read", "team"),
    ]

    # An export job: its progress, then the file.
    page.get_by_role("link", name="Customers").click()
    exporter = page.get_by_role("form", name="Export customers")
    with page.expect_download(timeout=60_000) as download:
        exporter.get_by_role("button", name="Export").click()
    expect(page.get_by_test_id("export-status-customers")).to_contain_text("rows exported to")
    assert download.value.suggested_filename.endswith(".csv")
    assert "legal_name" in Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]
