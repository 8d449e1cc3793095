"""The web console in a real browser (Debian's Chromium driven by Playwright) against the real
embedded platform: a rep's day (check-in with geolocation, a follow-up written offline and sent
when back online with an Idempotency-Key, a deal advanced through its gate, the daily report), a
manager's approval and dashboard, an administrator creating a user (who must change his password at
first login) and an API key, and the pages in Chinese. Screenshots of failed tests are kept."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import auth, created, org_unit, person, poll, root_unit
from salesgrid_dev.browser import AT, log_in
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, expect

expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def world(api: httpx.Client, admin_token: str) -> dict[str, Any]:
    """A team in Shanghai: a manager, his rep, the rep's customer (with coordinates), an open deal,
    three visits to the customer (for the approval gate) and a contract waiting for the manager."""
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Console team {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin_token, unit["id"], f"console-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, unit["id"], f"console-rep-{suffix}", "rep", manager_id)
    rep = auth(rep_token)

    def create_customer() -> dict[str, Any] | None:  # the rep reaches customers' directory asynchronously
        reply = api.post(
            "/v1/customers",
            headers=rep,
            json={"legal_name": f"浦江{suffix}精密机械有限公司", "address": {"text": "中山东一路 1 号", **AT}},
        )
        return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

    customer = poll(create_customer)
    deal = created(
        api.post(
            "/v1/opportunities",
            headers=rep,
            json={
                "customer_id": customer["id"],
                "name": f"Press line {suffix}",
                "amount": {"amount": "880000", "currency": "CNY"},
                "expected_close_date": f"{datetime.now(UTC).year + 1}-03-31",
            },
        )
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in range(3):
        poll(
            lambda n=n: (
                api.post(
                    "/v1/follow-ups",
                    headers=rep,
                    json={
                        "kind": "visit",
                        "occurred_at": stamp,
                        "notes": f"decision-chain visit {n}",
                        "customer_id": customer["id"],
                    },
                ).status_code
                == 201
            )
        )
    product = created(
        api.post(
            "/v1/products",
            headers=auth(admin_token),
            json={"sku": f"CON-{suffix}", "name": "Servo press", "prices": [{"amount": "60000.00", "currency": "CNY"}]},
        )
    )
    today = datetime.now(UTC).date()
    contract = created(
        api.post(
            "/v1/contracts",
            headers=rep,
            json={
                "customer_id": customer["id"],
                "branch_code": "SH",
                "currency": "CNY",
                "start_date": today.isoformat(),
                "end_date": today.replace(year=today.year + 1).isoformat(),
                "lines": [{"product_id": product["id"], "quantity": "1"}],
            },
        )
    )

    def submit() -> bool:  # the approval chain needs contracts' replica of the users
        return api.post(f"/v1/contracts/{contract['id']}/submit", headers=rep).status_code == 200

    poll(submit)
    return {
        "suffix": suffix,
        "unit": unit,
        "manager_id": manager_id,
        "rep_id": rep_id,
        "rep_token": rep_token,
        "manager_token": manager_token,
        "customer": customer,
        "deal": deal,
        "contract": contract,
        "rep_login": f"console-rep-{suffix}",
        "manager_login": f"console-mgr-{suffix}",
    }


def test_a_reps_day(context: BrowserContext, platform: Platform, api: httpx.Client, world: dict[str, Any]) -> None:
    page = context.new_page()
    sent_keys: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            sent_keys.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/v1/follow-ups")
            else None
        ),
    )
    log_in(page, platform, world["rep_login"])
    customer = world["customer"]
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    # Only what a rep may do is offered.
    expect(page.get_by_role("link", name="Approvals")).to_have_count(0)
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)

    # Check in at the customer's door with the browser's position.
    check_in = page.get_by_role("form", name="Check in")
    check_in.get_by_label("Customer").select_option(customer["id"])
    check_in.get_by_role("button", name="Check in here").click()
    result = page.get_by_test_id("check-in-result")
    expect(result).to_contain_text(customer["legal_name"])
    result.get_by_role("button", name="Check out").click()
    expect(result).to_contain_text("checked out")

    # A follow-up written without signal waits on the device, then goes out once back online.
    context.set_offline(True)
    follow_up = page.get_by_role("form", name="Log a follow-up")
    follow_up.get_by_label("Customer").select_option(customer["id"])
    follow_up.get_by_label("Kind").select_option("meeting")
    notes = f"offline demo {world['suffix']}"
    follow_up.get_by_label("Notes").fill(notes)
    follow_up.get_by_role("button", name="Save follow-up").click()
    expect(page.get_by_test_id("queue-badge")).to_have_text("1 waiting to send")
    expect(page.get_by_test_id("queue")).to_contain_text("Follow-up: offline demo")
    context.set_offline(False)
    expect(page.get_by_test_id("queue-badge")).to_be_hidden()
    expect(page.get_by_test_id("queue")).to_contain_text("Everything is sent.")
    logged = api.get(
        "/v1/follow-ups", headers=auth(world["rep_token"]), params={"customer_id": customer["id"], "limit": 50}
    ).json()["items"]
    assert [f["notes"] for f in logged].count(notes) == 1
    assert sent_keys and all(re.fullmatch(r"[0-9a-f-]{36}", key or "") for key in sent_keys)

    # A customer already registered is named while the name is typed.
    page.get_by_role("link", name="Customers").click()
    new_customer = page.get_by_role("form", name="New customer")
    new_customer.get_by_label("Legal name").fill(customer["legal_name"])
    expect(page.get_by_test_id("duplicates")).to_contain_text(
        f"Already registered: {customer['legal_name']}. It is yours."
    )
    page.get_by_role("searchbox").fill(customer["legal_name"][:6])
    expect(page.get_by_test_id("customer-results")).to_contain_text(customer["legal_name"])
    page.get_by_test_id("customer-results").get_by_role("link", name=customer["legal_name"]).click()
    expect(page.get_by_test_id("outstanding")).to_be_visible()  # the 360 view

    # The deal: an empty gate form is refused naming each missing fact; the facts move it on.
    page.goto(f"{platform.gateway_url}/console/#/board")
    deal = page.locator(f'[data-stage="opportunity"] li[data-id="{world["deal"]["id"]}"]')
    deal.get_by_role("button", name="Advance…").click()
    gate = page.locator("dialog.gate")
    gate.get_by_role("button", name="Advance", exact=True).click()
    expect(gate.locator('.field-error[data-for="facts.budget"]')).to_contain_text("required")
    expect(gate.locator('.field-error[data-for="facts.decision_chain_visits"]')).to_contain_text("required")
    gate.get_by_label(re.compile("^Budget")).fill("900000")
    gate.get_by_label(re.compile("^Our expected amount")).fill("600000")
    gate.get_by_label("Latest expected bid date").fill("2027-02-28")
    for kind in ("Design", "Decision", "User"):
        gate.get_by_label(re.compile(f"^{kind} organisations")).fill(f"{kind} institute, {kind} bureau")
    for box in gate.locator("fieldset.visits input[type=checkbox]").all():
        box.check()
    gate.get_by_role("button", name="Advance", exact=True).click()
    expect(page.locator(f'[data-stage="approval"] li[data-id="{world["deal"]["id"]}"]')).to_be_visible()
    moved = api.get(f"/v1/opportunities/{world['deal']['id']}", headers=auth(world["rep_token"])).json()
    assert moved["stage"] == "approval"

    # The daily report, with today's visit attached.
    page.goto(f"{platform.gateway_url}/console/#/today")
    report = page.get_by_role("form", name="Daily report")
    expect(report).to_contain_text(re.compile(r"[1-9]\d* visits of today are attached."))
    report.get_by_label("What did you do today?").fill("Visited the customer, advanced the press line.")
    report.get_by_role("button", name="Submit report").click()
    expect(page.get_by_test_id("report-status")).to_contain_text("Submitted")


def test_a_managers_approval_and_dashboard(
    context: BrowserContext, platform: Platform, api: httpx.Client, world: dict[str, Any]
) -> None:
    page = context.new_page()
    log_in(page, platform, world["manager_login"])
    expect(page.get_by_role("link", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Approvals").click()
    item = page.get_by_test_id("my-approvals").locator(f'li[data-id="{world["contract"]["id"]}"]')
    item.get_by_label("Comment (required to reject)").fill("Price agreed with finance")
    item.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Nothing waits for your decision.")).to_be_visible()
    contract = api.get(f"/v1/contracts/{world['contract']['id']}", headers=auth(world["manager_token"])).json()
    assert contract["status"] == "approved"

    page.get_by_role("link", name="Dashboard").click()
    dashboard = page.get_by_test_id("dashboard")
    for title in (
        "This month",
        "Funnel",
        "Targets",
        "Leaderboard",
        "Forecast against target",
        "Daily-report compliance",
        "Receivables ageing",
        "Gate violations",
    ):
        expect(dashboard.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(dashboard.locator("svg.chart").first).to_be_visible()
    expect(dashboard.locator(".error")).to_have_count(0)  # every analytics call answered

    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("performance-")
    assert "," in Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()[0]  # a CSV header

    # The team: a task for the rep, and a target split whose parts must add up.
    page.get_by_role("link", name="Team").click()
    task = page.get_by_role("form", name="Assign a task")
    task.get_by_label("To").select_option(world["rep_id"])
    task.get_by_label("Task", exact=True).fill(f"Call back the buyer {world['suffix']}")
    task.get_by_role("button", name="Assign").click()
    expect(page.locator("#toast")).to_contain_text("Task assigned.")
    tasks = api.get("/v1/tasks", headers=auth(world["rep_token"]), params={"assignee_id": world["rep_id"]}).json()
    assert f"Call back the buyer {world['suffix']}" in [x["title"] for x in tasks["items"]]
    split = page.get_by_role("form", name="Split a target")
    split.get_by_label("Period").fill("2031-01")
    parts = split.locator("input[data-rep]")
    for n in range(parts.count()):
        parts.nth(n).fill("50000")
    split.get_by_label("Team target").fill(str(50000 * parts.count() + 1))
    expect(page.get_by_test_id("target-sum")).to_contain_text("difference CN¥1")
    split.get_by_role("button", name="Save targets").click()
    expect(split.locator(".form-error")).not_to_be_empty()  # the API refuses parts that do not add up
    split.get_by_label("Team target").fill(str(50000 * parts.count()))
    split.get_by_role("button", name="Save targets").click()
    expect(page.locator("#toast")).to_contain_text("Targets saved.")
    saved = api.get("/v1/targets", headers=auth(world["manager_token"]), params={"period": "2031-01"}).json()["targets"]
    assert sorted(x["rep_id"] for x in saved if x["rep_id"]) == sorted(
        parts.nth(n).get_attribute("data-rep") for n in range(parts.count())
    )


def test_an_admin_creates_a_user_and_an_api_key(
    context: BrowserContext,
    browser: Browser,
    platform: Platform,
    api: httpx.Client,
    admin_token: str,
    world: dict[str, Any],
) -> None:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, platform, ADMIN_LOGIN, ADMIN_PASSWORD)
    page.get_by_role("link", name="Administration").click()
    new_user = page.get_by_role("form", name="New user")
    login = f"console-new-{world['suffix']}"
    new_user.get_by_label("Login").fill(login)
    new_user.get_by_label("Name").fill("New Rep 新人")
    new_user.get_by_label("Org unit").select_option(world["unit"]["id"])
    new_user.get_by_label("Role").select_option("rep")
    new_user.get_by_label("Initial password").fill("short")
    new_user.get_by_role("button", name="Create user").click()
    expect(new_user.locator('.field-error[data-for="initial_password"]')).to_contain_text("at least")
    new_user.get_by_label("Initial password").fill("Welcome-Field-2027")
    new_user.get_by_role("button", name="Create user").click()
    expect(page.locator("#toast")).to_contain_text(f"User {login} created.")

    page.get_by_role("link", name="API keys").click()
    new_key = page.get_by_role("form", name="New API key")
    key_name = f"ERP sync {world['suffix']}"
    new_key.get_by_label("Name").fill(key_name)
    new_key.get_by_label("Permissions like role").select_option("auditor")
    new_key.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("api-key-secret").locator(".secret-value")
    expect(secret).not_to_be_empty()
    reply = api.get("/v1/me", headers={"X-API-Key": secret.inner_text()})
    assert reply.status_code == 200 and reply.json()["kind"] == "api_key"
    listed = page.get_by_test_id("api-keys").locator(f'li[data-name="{key_name}"]')
    listed.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("api-keys").locator(f'li[data-name="{key_name}"]')).to_contain_text("revoked")
    keys = api.get("/v1/api-keys", headers=auth(admin_token)).json()["items"]
    assert next(k for k in keys if k["name"] == key_name).get("revoked_at")

    page.get_by_role("link", name="Audit trail").click()
    audit = page.get_by_role("form", name="Search the audit trail")
    audit.get_by_label("Action").fill("api_keys.revoke")
    audit.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("audit").locator("li").first).to_contain_text("api_keys.revoke")
    page.get_by_role("link", name="Roles and data scopes").click()
    expect(page.get_by_test_id("roles")).to_contain_text("Sales rep")
    page.get_by_role("link", name="Org tree").click()
    expect(page.get_by_test_id("org-tree")).to_contain_text(world["unit"]["name"])
    expect(page.get_by_test_id("org-tree")).to_contain_text("Asia/Shanghai")

    # An import shows its progress and each refused row.
    page.get_by_role("link", name="Customers").click()
    csv = f"legal_name,credit_code\n导入{world['suffix']}测试有限公司,\n导入{world['suffix']}坏码有限公司,123\n"
    importer = page.get_by_role("form", name="Import customers")
    importer.get_by_label("CSV or Excel file").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    importer.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-status")).to_have_text("2 of 2 rows: 1 created, 1 refused")
    expect(importer.locator("li.error")).to_contain_text("credit_code")

    # The new user must choose his own password before anything else.
    first = browser.new_context(locale="en-US")
    try:
        newcomer = first.new_page()
        log_in(newcomer, platform, login, "Welcome-Field-2027")
        newcomer.get_by_label("New password", exact=True).fill("My-Own-Secret-2027")
        newcomer.get_by_label("Repeat the new password").fill("My-Own-Secret-2027")
        newcomer.get_by_role("button", name="Save password").click()
        expect(newcomer.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    finally:
        first.close()
    assert api.post("/v1/auth/login", json={"login": login, "password": "My-Own-Secret-2027"}).status_code == 200


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_the_pages_in_chinese(context: BrowserContext, platform: Platform, world: dict[str, Any]) -> None:
    page = context.new_page()
    log_in(page, platform, world["manager_login"], labels=("账号", "密码", "登录"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", level=1, name=re.compile("^今日"))).to_be_visible()
    for label in ("今日", "客户", "商机", "仪表盘", "审批"):
        expect(page.get_by_role("link", name=label, exact=True)).to_be_visible()
    page.get_by_role("link", name="商机", exact=True).click()
    expect(page.get_by_role("heading", name="立项")).to_be_visible()  # stage names from the stage model
    expect(page.get_by_test_id("board")).to_contain_text("¥")  # CNY per zh-CN
    page.get_by_role("link", name="仪表盘", exact=True).click()
    expect(page.get_by_role("heading", name="销售漏斗")).to_be_visible()
    # Switching back to English from the menu.
    page.get_by_label("语言").first.select_option("en")
    expect(page.get_by_role("link", name="Dashboard", exact=True)).to_be_visible()


def test_an_expired_access_token_is_refreshed_and_a_dead_session_asks_to_log_in(
    context: BrowserContext, platform: Platform, world: dict[str, Any]
) -> None:
    page = context.new_page()
    log_in(page, platform, world["rep_login"])
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    # A stale access token: the first call answers 401, the console refreshes once and goes on.
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('salesgrid.session'));
        s.access_token = 'expired'; localStorage.setItem('salesgrid.session', JSON.stringify(s)); }""")
    page.reload()
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('salesgrid.session')).access_token") != "expired"
    # A revoked refresh token too: back to the login form, saying why.
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('salesgrid.session'));
        s.access_token = 'expired'; s.refresh_token = 'revoked'; localStorage.setItem('salesgrid.session', JSON.stringify(s)); }""")
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    # Logging out ends the session on the server and on the device.
    log_in(page, platform, world["rep_login"])
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    refresh_token = page.evaluate("JSON.parse(localStorage.getItem('salesgrid.session')).refresh_token")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page.evaluate("localStorage.getItem('salesgrid.session')") is None
    assert (
        httpx.post(f"{platform.gateway_url}/v1/auth/refresh", json={"refresh_token": refresh_token}).status_code == 401
    )


def test_client_side_formatting_and_stage_logic(context: BrowserContext, platform: Platform) -> None:
    """The console's own logic, run in the browser: dates in the branch's zone, money per locale,
    the next stage of a model, enumerated values in English."""
    page = context.new_page()
    page.goto(f"{platform.gateway_url}/console/")
    base = page.locator("script[type=module]").get_attribute("src").rsplit("/js/", 1)[0]
    result = page.evaluate(
        """async (base) => {
        const i18n = await import(`${base}/js/i18n.js`);
        const board = await import(`${base}/js/views/board.js`);
        i18n.setBranch({ time_zone: 'Asia/Shanghai', currency: 'CNY' });
        const lateUtc = new Date('2026-03-31T20:30:00Z');  // already April 1st in Shanghai
        const out = { today: i18n.branchToday(lateUtc), month: i18n.branchMonth(lateUtc) };
        i18n.setLocale('zh-CN');
        out.zhMoney = i18n.money({ amount: '1234567.5', currency: 'CNY' });
        out.zhDay = i18n.day('2026-04-01');
        out.zhText = i18n.t('{n} waiting to send', { n: 2 });
        out.zhStage = i18n.bilingual('Bidding / 投标');
        i18n.setLocale('en');
        out.enMoney = i18n.money('1234567.5', 'EUR');
        out.enKind = i18n.t('report:on_time');
        const model = { entry_stage: 'opportunity', stages: [
            { code: 'lead' }, { code: 'opportunity' }, { code: 'approval' }, { code: 'won', outcome: 'won' },
            { code: 'lost', outcome: 'lost' }] };
        out.next = board.nextStage(model, 'opportunity').code;
        out.afterLast = board.nextStage(model, 'approval').code;
        return out;
    }""",
        base,
    )
    assert result == {
        "today": "2026-04-01",
        "month": "2026-04",
        "zhMoney": "¥1,234,568",
        "zhDay": "2026年4月1日",
        "zhText": "2 条待发送",
        "zhStage": "投标",
        "enMoney": "€1,234,568",
        "enKind": "on time",
        "next": "approval",
        "afterLast": "won",
    }


def test_the_console_opens_and_checks_in_without_network(
    context: BrowserContext, platform: Platform, api: httpx.Client, world: dict[str, Any]
) -> None:
    page = context.new_page()
    log_in(page, platform, world["rep_login"])
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the shell is cached
    customer = world["customer"]

    def visits() -> list[dict[str, Any]]:
        return api.get(
            "/v1/check-ins", headers=auth(world["rep_token"]), params={"customer_id": customer["id"], "limit": 100}
        ).json()["items"]

    for visit in visits():  # a visit left open would refuse another check-in at the customer
        if not (visit.get("check_out") or {}).get("received_at"):
            created(
                api.post(
                    f"/v1/check-ins/{visit['id']}/check-out",
                    headers=auth(world["rep_token"]),
                    json={
                        "reading": {
                            **AT,
                            "accuracy_m": 10,
                            "device_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        }
                    },
                ),
                200,
            )
    before = len(visits())
    context.set_offline(True)
    page.reload()  # no network: the page, its code and the caller come from the device
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    check_in = page.get_by_role("form", name="Check in")
    check_in.get_by_label("Customer").select_option(customer["id"])
    check_in.get_by_role("button", name="Check in here").click()
    expect(page.get_by_test_id("check-in-result")).to_contain_text("Saved on this device")
    expect(page.get_by_test_id("queue-badge")).to_have_text("1 waiting to send")
    context.set_offline(False)
    # Sent on the `online` event, or by the retry every 10 s (Playwright's offline switch does not
    # always reach a page whose service worker went offline with it).
    expect(page.get_by_test_id("queue-badge")).to_be_hidden(timeout=30_000)
    after = visits()
    assert len(after) == before + 1
    for visit in after:  # leave no visit open for the other tests
        if not (visit.get("check_out") or {}).get("received_at"):
            created(
                api.post(
                    f"/v1/check-ins/{visit['id']}/check-out",
                    headers=auth(world["rep_token"]),
                    json={
                        "reading": {
                            **AT,
                            "accuracy_m": 10,
                            "device_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        }
                    },
                ),
                200,
            )
