"""The console's screens for sales expenses, custom fields and the inbox in the reader's language,
in Debian's Chromium against the real platform: a rep files an expense claim (refused beside the
amount above his unit's daily limit, before anything is written) and his manager approves it from
the approvals inbox; a contract and a receipt printed (the reprint a copy); an administrator defines a custom field and a rep fills it on a customer
(checked beside the field, shown on the 360 view, edited, found by the list's filter); an inbox
notice reads in Chinese on the zh-CN console; and the client-side logic behind them."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from salesgrid_dev.api import auth, created, org_unit, person, poll, replicated, root_unit
from salesgrid_dev.browser import log_in
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, expect

expect.set_options(timeout=15_000)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # the service checks a receipt's type by its first bytes


def _team(api: httpx.Client, admin_token: str, platform: Platform, name: str) -> dict[str, Any]:
    """A unit in Shanghai whose entertainment is limited to 500 CNY a day, a manager and his rep
    (known to the expenses service), and a customer of the rep."""
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"{name} {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin_token, unit["id"], f"{name}-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, unit["id"], f"{name}-rep-{suffix}", "rep", manager_id)
    replicated(platform, admin_token, [manager_id, rep_id], service="expenses")
    policy = {"currency": "CNY", "limits": [{"category": "entertainment", "daily_limit": "500"}]}
    poll(  # expenses learns of the new unit from identity's events
        lambda: api.put(f"/v1/expense-policies/{unit['id']}", headers=auth(admin_token), json=policy).status_code == 200
    )

    def customer() -> dict[str, Any] | None:
        reply = api.post("/v1/customers", headers=auth(rep_token), json={"legal_name": f"静安{suffix}酒店管理有限公司"})
        return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

    return {
        "suffix": suffix,
        "unit": unit,
        "manager_id": manager_id,
        "rep_id": rep_id,
        "manager_token": manager_token,
        "rep_token": rep_token,
        "manager_login": f"{name}-mgr-{suffix}",
        "rep_login": f"{name}-rep-{suffix}",
        "customer": poll(customer),
    }


def test_a_rep_files_an_expense_claim_his_manager_approves_it_and_finance_pays_it(
    browser: Browser, context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    team = _team(api, admin_token, platform, "exp")
    rep = auth(team["rep_token"])
    page = context.new_page()
    log_in(page, platform, team["rep_login"])
    page.get_by_role("link", name="Expenses", exact=True).click()
    claim = page.get_by_role("form", name="New expense claim")
    expect(claim).to_contain_text("Daily limits: Entertainment CN¥500.00")
    claim.get_by_label("Title", exact=True).fill(f"Client dinner {team['suffix']}")
    claim.get_by_label("Category", exact=True).select_option("entertainment")
    claim.get_by_label("Amount", exact=True).fill("600")
    claim.get_by_label("Customer", exact=True).select_option(team["customer"]["id"])
    claim.get_by_label("Receipt (JPEG, PNG or PDF)").set_input_files(
        files=[{"name": "发票.png", "mimeType": "image/png", "buffer": PNG}]
    )
    claim.get_by_role("button", name="Submit for approval").click()
    # The policy's limit, beside the amount, before anything is written
    expect(claim.locator('.field-error[data-for="lines[0].amount"]')).to_contain_text(
        "above the daily limit of CN¥500.00"
    )
    assert created(api.get("/v1/expense-claims", headers=rep), 200)["items"] == []
    claim.get_by_label("Amount", exact=True).fill("420")
    claim.get_by_role("button", name="Submit for approval").click()
    mine = page.get_by_test_id("my-claims")
    expect(mine).to_contain_text(f"Client dinner {team['suffix']}")
    expect(mine).to_contain_text("Submitted")
    [filed] = created(api.get("/v1/expense-claims", headers=rep), 200)["items"]
    assert (filed["status"], filed["total"], filed["lines"][0]["customer_id"]) == (
        "submitted",
        "420.00",
        team["customer"]["id"],
    )
    assert [r["file_name"] for r in filed["receipts"]] == ["发票.png"]

    manager = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        approver = manager.new_page()
        log_in(approver, platform, team["manager_login"])
        approver.get_by_role("link", name="Approvals", exact=True).click()
        item = approver.get_by_test_id("expense-approvals").locator(f'li[data-id="{filed["id"]}"]')
        expect(item).to_contain_text("CN¥420.00")
        item.get_by_role("button", name="Approve").click()
        expect(approver.get_by_text("No expense claim waits for your decision.")).to_be_visible()
    finally:
        manager.close()
    assert created(api.get(f"/v1/expense-claims/{filed['id']}", headers=rep), 200)["status"] == "approved"
    page.get_by_role("link", name=f"Client dinner {team['suffix']}").click()
    expect(page.get_by_test_id("claim-status")).to_have_text("Approved")
    expect(page.get_by_role("button", name="Receipt 发票.png")).to_be_visible()

    # Finance (here the administrator, who holds expenses:pay) pays it from the claim's page.
    finance = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        payer = finance.new_page()
        log_in(payer, platform, ADMIN_LOGIN, ADMIN_PASSWORD)
        expect(payer.get_by_role("link", name="Expenses", exact=True)).to_be_visible()
        payer.goto(f"{platform.gateway_url}/console/#/expenses/{filed['id']}")
        payer.get_by_label("Payment reference").fill(f"PAY-{team['suffix']}")
        payer.get_by_role("button", name="Mark paid").click()
        expect(payer.get_by_test_id("claim-status")).to_have_text("Paid")
        expect(payer.get_by_text(f"(PAY-{team['suffix']})")).to_be_visible()
    finally:
        finance.close()


def test_an_admin_defines_a_custom_field_and_a_rep_fills_it_on_a_customer(
    browser: Browser, context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    key = f"fleet_{suffix}"
    page = context.new_page()
    log_in(page, platform, ADMIN_LOGIN, ADMIN_PASSWORD)
    expect(page.get_by_role("link", name="Administration", exact=True)).to_be_visible()
    page.goto(f"{platform.gateway_url}/console/#/admin/fields")
    define = page.get_by_role("form", name="New custom field")
    define.get_by_label("Label", exact=True).fill(f"Fleet size {suffix}")
    define.get_by_label("Key (letters, digits, _)").fill(key)
    define.get_by_label("Type", exact=True).select_option("number")
    define.get_by_role("button", name="Define field").click()
    expect(page.get_by_test_id("custom-field-definitions").locator(f'li[data-key="{key}"]')).to_contain_text("Number")

    unit = org_unit(api, admin_token, root_unit(api, admin_token)["id"], f"Fields {suffix}", time_zone="Asia/Shanghai")
    rep_id, _ = person(api, admin_token, unit["id"], f"fields-rep-{suffix}", "rep")
    replicated(platform, admin_token, [rep_id], service="customers")
    rep = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        page = rep.new_page()
        log_in(page, platform, f"fields-rep-{suffix}")
        page.get_by_role("link", name="Customers", exact=True).click()
        new = page.get_by_role("form", name="New customer")
        new.get_by_label("Legal name").fill(f"Fleet {suffix} Logistics Ltd")
        new.get_by_label(f"Fleet size {suffix}").fill("a dozen")
        new.get_by_role("button", name="Create customer").click()
        expect(new.locator(f'.field-error[data-for="custom_fields.{key}"]')).to_have_text("must be a number")
        new.get_by_label(f"Fleet size {suffix}").fill("120")
        new.get_by_role("button", name="Create customer").click()
        values = page.get_by_test_id("custom-fields")
        expect(values).to_contain_text(f"Fleet size {suffix}")
        expect(values).to_contain_text("120")
        page.get_by_role("button", name="Edit", exact=True).click()
        page.get_by_label(f"Fleet size {suffix}").fill("150")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_test_id("custom-fields")).to_contain_text("150")
        page.get_by_role("link", name="Customers", exact=True).first.click()
        page.get_by_label("Filter by field").select_option(key)
        page.get_by_label("Field value").fill("150")
        results = page.get_by_test_id("customer-results")
        expect(results).to_contain_text(f"Fleet {suffix} Logistics Ltd")
        page.get_by_label("Field value").fill("151")
        expect(results).to_contain_text("No customer matches.")
    finally:
        rep.close()
        # Other tests share the platform: the field is archived (its values are kept).
        api.post(f"/v1/custom-fields/customers/{key}/archive", headers=auth(admin_token))


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_an_inbox_notice_reads_in_chinese(
    context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    """The notice carries its kind and facts; the zh-CN console writes the title from them."""
    team = _team(api, admin_token, platform, "inbox")
    rep, manager = auth(team["rep_token"]), auth(team["manager_token"])
    claim = created(
        api.post(
            "/v1/expense-claims",
            headers=rep,
            json={
                "title": "出租车",
                "currency": "CNY",
                "lines": [{"category": "travel", "spent_on": "2026-01-05", "amount": "86.50"}],
            },
        )
    )
    created(
        api.post(
            f"/v1/expense-claims/{claim['id']}/lines/1/receipts",
            params={"file_name": "taxi.png"},
            content=PNG,
            headers={**rep, "Content-Type": "image/png"},
        )
    )
    created(api.post(f"/v1/expense-claims/{claim['id']}/submit", headers=rep), 200)
    poll(lambda: api.post(f"/v1/expense-claims/{claim['id']}/approve", headers=manager, json={}).status_code == 200)
    notice = poll(
        lambda: next(
            (i for i in api.get("/v1/inbox", headers=rep).json()["items"] if i["kind"] == "expense_settled"), None
        )
    )
    assert notice["title"] == "Your expense claim of 86.50 CNY was approved"  # the stored English fallback
    assert notice["params"] == {"total": "86.50", "currency": "CNY", "status": "approved", "comment": ""}
    page = context.new_page()
    log_in(page, platform, team["rep_login"], labels=("账号", "密码", "登录"))
    page.get_by_role("link", name="消息", exact=True).click()
    inbox = page.get_by_test_id("inbox")
    expect(inbox).to_contain_text("您 ¥86.50 的费用报销单已批准")
    expect(inbox).not_to_contain_text("Your expense claim")


def test_client_side_logic_of_notices_expenses_and_custom_fields(context: BrowserContext, platform: Platform) -> None:
    page = context.new_page()
    page.goto(f"{platform.gateway_url}/console/")
    base = page.locator("script[type=module]").get_attribute("src").rsplit("/js/", 1)[0]
    result = page.evaluate(
        """async (base) => {
        const i18n = await import(`${base}/js/i18n.js`);
        const notices = await import(`${base}/js/notices.js`);
        const expenses = await import(`${base}/js/views/expenses.js`);
        const fields = await import(`${base}/js/custom_fields.js`);
        const files = await import(`${base}/js/files.js`);
        i18n.setBranch({ time_zone: 'Asia/Shanghai', currency: 'CNY' });
        const overdue = { kind: 'instalment_overdue', title: 'Contract HT-1: instalment 2 ...',
          params: { number: 'HT-1', seq: '2', due_date: '2026-03-01', outstanding: '5000.00', currency: 'CNY' } };
        const out = {};
        i18n.setLocale('zh-CN');
        out.zhOverdue = notices.noticeTitle(overdue);
        out.zhPool = notices.noticeTitle({ kind: 'pool_return_warning', params: { date: '2026-03-17', rule: 'no_deal' } });
        out.zhReminder = notices.noticeTitle({ kind: 'discount_approval', params: { rate: '15.0', reminder: 'true' } });
        out.zhRejected = notices.noticeTitle({ kind: 'expense_settled',
          params: { total: '86.50', currency: 'CNY', status: 'rejected', comment: '缺发票' } });
        out.oldItem = notices.noticeTitle({ kind: 'sla_overdue', title: 'Stage bidding is overdue', params: {} });
        out.unknownKind = notices.noticeTitle({ kind: 'new_kind', title: 'Something new', params: { a: '1' } });
        i18n.setLocale('en');
        out.enOverdue = notices.noticeTitle(overdue);
        out.enStage = notices.noticeTitle({ kind: 'sla_escalated', params: { stage: 'Bidding / 投标', due_date: '2026-03-01' } });
        out.link = notices.noticeLink({ record: { type: 'expense_claim', id: 'x 1' } });
        const policy = { currency: 'CNY', limits: [{ category: 'entertainment', daily_limit: '500' }] };
        out.over = expenses.overLimits([
          { category: 'entertainment', spent_on: '2026-03-01', amount: '300' },
          { category: 'travel', spent_on: '2026-03-01', amount: '900' },
          { category: 'entertainment', spent_on: '2026-03-01', amount: '250' },
          { category: 'entertainment', spent_on: '2026-03-02', amount: '500' }], policy);
        const defs = [
          { key: 'size', type: 'number', required: true }, { key: 'budget', type: 'money' },
          { key: 'tags', type: 'multi_choice' }, { key: 'vip', type: 'boolean' }, { key: 'line_only', type: 'text', required: true,
            business_lines: ['project'] }];
        out.bad = fields.readValues(defs, { size: '', budget: '12,5', tags: [], vip: false, line_only: '' });
        out.good = fields.readValues(defs, { size: ' 120 ', budget: '99.50', tags: ['a'], vip: true }, { currency: 'CNY' });
        out.cleared = fields.readValues([{ key: 'budget', type: 'money' }], { budget: '' }, { clear: true }).values;
        out.fileName = files.dispositionName("attachment; filename*=UTF-8''%E5%8F%91%E7%A5%A8.png");
        return out;
    }""",
        base,
    )
    assert result["zhOverdue"] == "合同 HT-1：第 2 期（2026年3月1日 到期）已逾期（¥5,000.00）"
    assert result["zhPool"] == "客户将于 2026年3月17日 退回公海（未成交）"
    assert result["zhReminder"] == "提醒：15.0% 的特批折扣待您审批"
    assert result["zhRejected"] == "您 ¥86.50 的费用报销单被驳回：缺发票"
    assert result["oldItem"] == "Stage bidding is overdue" and result["unknownKind"] == "Something new"
    assert result["enOverdue"] == "Contract HT-1: instalment 2 due Mar 1, 2026 is overdue (CN¥5,000.00)"
    assert result["enStage"] == "Stage Bidding escalated: overdue since Mar 1, 2026"
    assert result["link"] == "#/expenses/x%201"
    assert result["over"] == [
        {"index": 0, "category": "entertainment", "spent_on": "2026-03-01", "total": 550, "limit": 500}
    ]
    assert result["bad"] == {
        "values": {},
        "errors": [
            {"field": "custom_fields.size", "message": "is required"},
            {"field": "custom_fields.budget", "message": "must be an amount such as 12.50"},
        ],
    }
    assert result["good"] == {
        "values": {"size": "120", "budget": {"amount": "99.50", "currency": "CNY"}, "tags": ["a"], "vip": True},
        "errors": [],
    }
    assert result["cleared"] == {"budget": None}
    assert result["fileName"] == "发票.png"


def test_a_manager_publishes_an_announcement_sees_its_receipts_and_makes_a_channel_partner(
    browser: Browser, context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    team = _team(api, admin_token, platform, "news")
    replicated(platform, admin_token, [team["manager_id"], team["rep_id"]], service="activities")
    page = context.new_page()
    log_in(page, platform, team["manager_login"])
    page.get_by_role("link", name="Announcements", exact=True).click()
    publish = page.get_by_role("form", name="Publish an announcement")
    publish.get_by_label("To unit (and its subtree)").select_option(team["unit"]["id"])
    publish.get_by_label("Title", exact=True).fill(f"Quarterly review {team['suffix']}")
    publish.get_by_label("Text", exact=True).fill("Friday 3 pm, room 301.")

    def published() -> bool:  # activities learns of the new unit's people asynchronously
        publish.get_by_role("button", name="Publish").click()
        page.wait_for_timeout(500)
        return page.get_by_test_id("published").get_by_text(f"Quarterly review {team['suffix']}").count() > 0

    poll(published)
    reader = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        rep_page = reader.new_page()
        log_in(rep_page, platform, team["rep_login"])
        rep_page.get_by_role("link", name="Announcements", exact=True).click()
        rep_page.get_by_test_id("my-announcements").get_by_role(
            "button", name=f"Mark read: Quarterly review {team['suffix']}"
        ).click()
        expect(rep_page.get_by_test_id("my-announcements")).to_contain_text("read")
    finally:
        reader.close()
    page.reload()
    item = page.get_by_test_id("published").locator("li", has_text=f"Quarterly review {team['suffix']}")
    expect(item).to_contain_text("1 of 2 read")
    item.get_by_role("button", name="Who has read it").click()
    expect(item.get_by_test_id("receipts")).to_contain_text(team["rep_login"])
    for screen, heading in (("Channels", "Channels"), ("Spot checks", "Spot checks"), ("Inbox", "Inbox")):
        page.get_by_role("link", name=screen, exact=True).click()
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        expect(page.locator("main .error")).to_have_count(0)
    # The team's customer made a channel partner (an agent, gold tier) from the Channels screen
    page.get_by_role("link", name="Channels", exact=True).click()
    partner = page.get_by_role("form", name="Make an account a channel partner")
    partner.get_by_label("Account", exact=True).select_option(team["customer"]["id"])
    partner.get_by_label("Channel", exact=True).select_option("agent")
    partner.get_by_label("Partner tier", exact=True).select_option("gold")
    partner.get_by_role("button", name="Save").click()
    partners = page.get_by_test_id("partners").locator(f'li[data-id="{team["customer"]["id"]}"]')
    expect(partners).to_contain_text("Agent")
    expect(partners).to_contain_text("Gold")


def test_a_rep_prints_a_contract_and_a_receipt_whose_reprint_is_a_copy(
    context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    team = _team(api, admin_token, platform, "print")
    replicated(platform, admin_token, [team["manager_id"], team["rep_id"]])  # contracts' approval chain
    rep, manager, admin = auth(team["rep_token"]), auth(team["manager_token"]), auth(admin_token)
    suffix = team["suffix"]
    created(
        api.put(
            f"/v1/contract-templates/std-{suffix}",
            headers=admin,
            json={"name": "销售合同(标准文本)", "terms": "验收后付清。"},
        ),
        200,
    )
    product = created(
        api.post(
            "/v1/products",
            headers=admin,
            json={"sku": f"PRN-{suffix}", "name": "Sensor", "prices": [{"currency": "CNY", "amount": "1000.00"}]},
        )
    )
    today = datetime.now(UTC).date()
    contract = created(
        api.post(
            "/v1/contracts",
            headers=rep,
            json={
                "customer_id": team["customer"]["id"],
                "branch_code": "SH",
                "currency": "CNY",
                "start_date": today.isoformat(),
                "end_date": (today + timedelta(days=365)).isoformat(),
                "template_id": f"std-{suffix}",
                "lines": [{"product_id": product["id"], "quantity": "2"}],
            },
        )
    )
    created(api.post(f"/v1/contracts/{contract['id']}/submit", headers=rep), 200)
    created(api.post(f"/v1/contracts/{contract['id']}/approve", headers=manager), 200)
    created(api.post(f"/v1/contracts/{contract['id']}/sign", headers=rep), 200)
    created(
        api.post(
            "/v1/receipts", headers=rep, json={"contract_id": contract["id"], "amount": "800.00", "method": "cash"}
        )
    )
    page = context.new_page()
    log_in(page, platform, team["rep_login"])
    expect(page.get_by_role("link", name="Customers", exact=True)).to_be_visible()
    page.goto(f"{platform.gateway_url}/console/#/customers/{team['customer']['id']}")
    item = page.locator("li", has_text=contract["number"])
    with page.expect_download() as printed:
        item.get_by_role("button", name="Print contract (PDF)").click()
    assert Path(printed.value.path()).read_bytes().startswith(b"%PDF")
    expect(page.locator("#toast")).to_contain_text("downloaded: the original")
    item.get_by_role("button", name="Receipts…").click()
    receipt = item.locator(".receipts li").first
    receipt.get_by_label("Payer (交款人, first print only)").fill("静安酒店")
    with page.expect_download() as original:
        receipt.get_by_role("button", name="Print receipt (PDF)").click()
    expect(page.locator("#toast")).to_contain_text("downloaded: the original")
    with page.expect_download() as copy:
        receipt.get_by_role("button", name="Print receipt (PDF)").click()
    expect(page.locator("#toast")).to_contain_text("a copy (副本), print 2")
    texts = [
        "".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(d.value.path()).read_bytes())).pages)
        for d in (original, copy)
    ]
    assert "COPY" not in texts[0] and "副本 COPY 1" in texts[1] and "静安酒店" in texts[0]
