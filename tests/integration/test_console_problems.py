"""The console in Chinese when the API refuses: real refusals provoked through the UI (a create
with a missing field, a duplicate owned by a colleague, a customer outside the rep's scope, a gate
that lacks its facts, a stale advance, a pool claim during the cool-down and over the daily cap, a
wrong password) read in Chinese, in place of the API's English problem details; and the
translation's own logic, run in the browser (unknown texts keep the API's words)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import auth, created, org_unit, person, poll, root_unit
from salesgrid_dev.browser import log_in
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform

pytest.importorskip("playwright")
from playwright.sync_api import BrowserContext, Page, expect

expect.set_options(timeout=15_000)

CHINESE = ("账号", "密码", "登录")


@pytest.fixture(scope="module")
def team(api: httpx.Client, admin_token: str) -> dict[str, Any]:
    """A Shanghai unit whose pool allows two claims a day and a 3-day cool-down; two reps, one
    with a customer and an open deal, three customers the other released to the pool."""
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Problem team {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, _ = person(api, admin_token, unit["id"], f"prob-mgr-{suffix}", "manager")
    rep_id, rep_token = person(api, admin_token, unit["id"], f"prob-rep-{suffix}", "rep", manager_id)
    other_id, other_token = person(api, admin_token, unit["id"], f"prob-rep2-{suffix}", "rep")
    poll(
        lambda: (
            api.put(
                f"/v1/pool-policies/{unit['id']}",
                headers=auth(admin_token),
                json={
                    "max_customers_per_rep": 50,
                    "max_claims_per_day": 2,
                    "reclaim_cooldown_days": 3,
                    "warning_days_before": 1,
                    "return_after_days_without_follow_up": 30,
                },
            ).status_code
            == 200
        )
    )
    mine = customer_of(api, rep_token, f"松江{suffix}液压设备有限公司")
    theirs = customer_of(api, other_token, f"闵行{suffix}冷链物流有限公司")
    pooled = [customer_of(api, other_token, f"{city}{suffix}五金制品有限公司") for city in ("嘉定", "青浦", "奉贤")]
    for customer in pooled:
        created(api.post(f"/v1/customers/{customer['id']}/release", headers=auth(other_token), json={}), 200)
    deal = poll(
        lambda: (lambda reply: reply.json() if reply.status_code == 201 else None)(
            api.post(
                "/v1/opportunities",
                headers=auth(rep_token),
                json={
                    "customer_id": mine["id"],
                    "name": f"Hydraulic line {suffix}",
                    "amount": {"amount": "420000", "currency": "CNY"},
                    "expected_close_date": f"{datetime.now(UTC).year + 1}-06-30",
                },
            )
        )
    )
    return {
        "suffix": suffix,
        "unit_id": unit["id"],
        "rep_id": rep_id,
        "rep_token": rep_token,
        "other_id": other_id,
        "manager_login": f"prob-mgr-{suffix}",
        "rep_login": f"prob-rep-{suffix}",
        "other_login": f"prob-rep2-{suffix}",
        "mine": mine,
        "theirs": theirs,
        "pooled": pooled,
        "deal": deal,
    }


def customer_of(api: httpx.Client, token: str, name: str) -> dict[str, Any]:
    def create() -> dict[str, Any] | None:  # the rep reaches customers' directory asynchronously
        reply = api.post("/v1/customers", headers=auth(token), json={"legal_name": name})
        return reply.json() if reply.status_code == 201 else None  # type: ignore[no-any-return]

    return poll(create)  # type: ignore[no-any-return]


def rep_page(context: BrowserContext, platform: Platform, login: str) -> Page:
    page = context.new_page()
    log_in(page, platform, login, labels=CHINESE)
    expect(page.get_by_role("heading", level=1, name=re.compile("^今日"))).to_be_visible()
    return page


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_a_refused_customer_create_and_a_customer_out_of_scope_read_in_chinese(
    context: BrowserContext, platform: Platform, team: dict[str, Any]
) -> None:
    page = rep_page(context, platform, team["rep_login"])
    page.goto(f"{platform.gateway_url}/console/#/customers")
    create = page.get_by_role("form", name="新建客户")
    # No name: the field says it is required, the form says which field (the gateway refuses it
    # before the service: "missing required field(s): legal_name").
    create.get_by_role("button", name="创建客户").click()
    expect(create.locator(".form-error")).to_have_text("请填写：客户全称")
    name_error = create.locator('.field-error[data-for="legal_name"]')
    expect(name_error).to_have_text("必填")
    expect(create.get_by_label("客户全称")).to_have_attribute("aria-invalid", "true")
    # A colleague's customer: who owns it, in Chinese, beside the name.
    create.get_by_label("客户全称").fill(team["theirs"]["legal_name"])
    create.get_by_role("button", name="创建客户").click()
    refusal = f"客户已存在：“{team['theirs']['legal_name']}”的负责人是 {team['other_login']}"
    expect(create.locator(".form-error")).to_contain_text(refusal)
    expect(name_error).to_contain_text("可以请其或您的上级共享给您")
    expect(create).not_to_contain_text("already exists")
    expect(create).not_to_contain_text("is required")
    # An address over the limit: the API names "address.text", the message lands beside 地址.
    create.get_by_label("客户全称").fill(f"宝山{team['suffix']}仪表有限公司")
    create.get_by_label("地址").fill("长" * 401)
    create.get_by_role("button", name="创建客户").click()
    expect(create.locator('.field-error[data-for="address"]')).to_have_text("地址不能超过 400 个字符")
    expect(create.get_by_label("地址")).to_have_attribute("aria-invalid", "true")
    # Outside his data scope: the 360 view says so in Chinese.
    page.goto(f"{platform.gateway_url}/console/#/customers/{team['theirs']['id']}")
    expect(page.locator("#main")).to_contain_text("该客户不在您的数据范围内。")
    expect(page.locator("body")).not_to_contain_text("outside your data scope")


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_a_gate_refusal_and_a_stale_advance_read_in_chinese(
    context: BrowserContext, platform: Platform, api: httpx.Client, team: dict[str, Any]
) -> None:
    page = rep_page(context, platform, team["rep_login"])
    page.goto(f"{platform.gateway_url}/console/#/board")
    deal = team["deal"]
    page.locator(f'li.deal[data-id="{deal["id"]}"]').get_by_role("button", name="推进…").click()
    gate = page.locator("dialog.gate form").first
    gate.get_by_role("button", name="推进", exact=True).click()
    # Which facts the gate misses, by their Chinese names, at the top and beside each field.
    expect(gate.locator(".form-error")).to_contain_text("无法进入下一阶段：还缺少预算、")
    expect(gate.locator('.field-error[data-for="facts.budget"]')).to_have_text("请填写预算")
    expect(gate).not_to_contain_text("is required")
    expect(gate).not_to_contain_text("cannot enter stage")
    # Someone else changes the deal meanwhile: the advance the rep sends is stale.
    current = api.get(f"/v1/opportunities/{deal['id']}", headers=auth(team["rep_token"])).json()
    changed = api.patch(
        f"/v1/opportunities/{deal['id']}",
        headers={**auth(team["rep_token"]), "If-Match": f'"{current["version"]}"'},
        json={"expected_close_date": f"{datetime.now(UTC).year + 1}-07-31"},
    )
    assert changed.status_code == 200, changed.text
    gate.get_by_role("button", name="推进", exact=True).click()
    expect(gate.locator(".form-error")).to_have_text(
        f"记录已被他人修改（当前为第 {changed.json()['version']} 版，您提交的是第 {deal['version']} 版）：请刷新后重试。"
    )
    expect(gate).not_to_contain_text("reload and retry")


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_pool_claims_refused_for_the_cool_down_and_the_daily_cap_read_in_chinese(
    context: BrowserContext, platform: Platform, api: httpx.Client, team: dict[str, Any]
) -> None:
    """The pool page offers the claims its standing allows; when the standing changes under it
    (the rep claims and releases from his phone meanwhile), the API's refusal reads in Chinese."""
    first, second, third = team["pooled"]
    rep = auth(team["rep_token"])
    page = rep_page(context, platform, team["rep_login"])
    page.goto(f"{platform.gateway_url}/console/#/customers/pool")
    expect(page.get_by_test_id("pool-policy")).to_contain_text("今日领取0（上限 2）")
    for customer in team["pooled"]:
        expect(page.locator(f'li[data-id="{customer["id"]}"]').get_by_role("button")).to_be_enabled()
    # Claimed and released elsewhere: the rep may not claim it back for three days.
    created(api.post(f"/v1/pool/{first['id']}/claim", headers=rep, json={}), 200)
    created(api.post(f"/v1/customers/{first['id']}/release", headers=rep, json={}), 200)
    cooling = api.post(f"/v1/pool/{first['id']}/claim", headers=rep, json={})
    assert cooling.status_code == 422, cooling.text
    assert (cooling.json()["type"], cooling.json()["code"]) == (
        "https://salesgrid.dev/problems/failed-precondition",
        "POOL_RECLAIM_COOLDOWN",
    )
    assert datetime.fromisoformat(cooling.json()["info"]["claimable_from"]) > datetime.now(UTC)
    page.locator(f'li[data-id="{first["id"]}"]').get_by_role("button").click()
    toast = page.locator("#toast")
    expect(toast).to_contain_text("您释放的客户须到 ")
    expect(toast).to_contain_text(" 之后才能重新领取。")
    expect(toast).not_to_contain_text("re-claim")
    # The page draws the standing as it is now: the cool-down in place of the claim.
    expect(page.locator(f'li[data-id="{first["id"]}"]')).to_contain_text("您可在 ")
    expect(page.locator(f'li[data-id="{first["id"]}"]').get_by_role("button")).to_have_count(0)
    # The second claim of the day elsewhere: the third is over the daily cap.
    created(api.post(f"/v1/pool/{second['id']}/claim", headers=rep, json={}), 200)
    capped = api.post(f"/v1/pool/{third['id']}/claim", headers=rep, json={})
    assert capped.status_code == 422, capped.text
    assert capped.json()["code"] == "POOL_DAILY_CLAIMS"
    assert capped.json()["info"] == {"claims_today": "2", "cap": "2"}
    page.locator(f'li[data-id="{third["id"]}"]').get_by_role("button").click()
    expect(toast).to_have_text("您今天已领取 2 个客户，达到每日上限（2 个）：请明天再领取。")
    expect(page.get_by_test_id("pool-blocked")).to_have_text("今日领取次数已用完：请明天再领取。")
    expect(page.locator(f'li[data-id="{third["id"]}"]').get_by_role("button")).to_be_disabled()
    still_pooled = api.get("/v1/pool", headers=rep, params={"limit": 500}).json()["items"]
    assert third["id"] in {c["id"] for c in still_pooled}  # nothing half-done


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_a_wrong_password_reads_in_chinese(context: BrowserContext, platform: Platform, team: dict[str, Any]) -> None:
    page = context.new_page()
    log_in(page, platform, team["rep_login"], "not-the-password", labels=CHINESE)
    expect(page.locator(".form-error")).to_have_text("账号或密码错误。")


def test_problem_texts_are_translated_from_type_fields_info_and_parameters(
    context: BrowserContext, platform: Platform
) -> None:
    """The translation's logic in the browser: English stays the API's words; in Chinese a known
    template carries its parameters, an unknown text keeps the API's words after a Chinese
    lead-in from its type, field names are the form's labels, and a stale version is known by
    its status whatever the text."""
    page = context.new_page()
    page.goto(f"{platform.gateway_url}/console/")
    base = page.locator("script[type=module]").get_attribute("src").rsplit("/js/", 1)[0]
    result = page.evaluate(
        """async (base) => {
        const p = await import(`${base}/js/problems.js`);
        const i18n = await import(`${base}/js/i18n.js`);
        const type = (slug) => `https://salesgrid.dev/problems/${slug}`;
        const cap = { type: type('failed-precondition'), status: 422,
          detail: 'rep already holds 7 customers (cap 7)',
          errors: [{ field: 'max_customers_per_rep', message: 'rep already holds 7 customers (cap 7)' }] };
        const strange = { type: type('failed-precondition'), status: 422, detail: 'the moon is full' };
        const fields = { type: type('validation-failed'), status: 400,
          detail: "contacts[0].emails[0]: 'x@' is not an e-mail address; legal_name: must be at most 200 characters",
          errors: [{ field: 'contacts[0].emails[0]', message: "'x@' is not an e-mail address" }] };
        const stale = { type: type('conflict'), status: 412, detail: 'task t-1 went stale somehow' };
        const out = { en: p.localize(422, cap, 'en'), code: p.problemCode({ type: type('password-change-required') }) };
        i18n.setLocale('zh-CN');
        i18n.setBranch({ time_zone: 'Asia/Shanghai', currency: 'CNY' });
        out.cap = p.localize(422, cap);
        out.strange = p.localize(422, strange).detail;
        out.fields = p.localize(400, fields);
        out.stale = p.localize(412, stale).detail;
        out.cooldown = p.localize(422, { type: type('failed-precondition'),
          detail: 'previous owner may re-claim only after 2026-03-31T20:30:00+00:00' }).detail;
        out.rate = p.localize(429, { type: type('rate-limited'), detail: 'rate limit of 120 requests per minute exceeded' }).detail;
        // Coded refusals are told from their code and info: the English may say anything.
        const nonsense = 'the moon is full';
        out.codedDaily = p.localize(422, { type: type('failed-precondition'), code: 'POOL_DAILY_CLAIMS', detail: nonsense,
          info: { claims_today: '5', cap: '5' }, errors: [{ field: 'max_claims_per_day', message: nonsense }] });
        out.codedHeld = p.localize(422, { type: type('failed-precondition'), code: 'POOL_CUSTOMER_CAP', detail: nonsense,
          info: { held: '30', cap: '30' } }).detail;
        out.codedCooldown = p.localize(422, { type: type('failed-precondition'), code: 'POOL_RECLAIM_COOLDOWN',
          detail: nonsense, info: { claimable_from: '2026-03-31T20:30:00+00:00' } }).detail;
        out.codedGate = p.localize(422, { type: type('failed-precondition'), code: 'STAGE_GATE_UNMET', detail: nonsense,
          info: { target_stage: 'approval', missing_facts: 'budget,decision_chain_visits', invalid_facts: '', unskippable_stages: 'offer' },
          errors: [{ field: 'facts.budget', message: 'Budget / 预算 is required' }] }).detail;
        out.codedStale = p.localize(409, { type: type('conflict'), code: 'STALE_VERSION', detail: nonsense,
          info: { current_version: '4', sent_version: '3' } }).detail;
        out.codedSplit = p.localize(400, { type: type('validation-failed'), code: 'TARGET_SPLIT_MISMATCH', detail: nonsense,
          info: { total: '1100.00', target: '1000.00', difference: '-100.00' } }).detail;
        out.codedLimit = p.localize(400, { type: type('validation-failed'), code: 'EXPENSE_DAILY_LIMIT', detail: nonsense,
          info: { category: 'travel', day: '2026-04-01', spent: '600.00', limit: '500.00', currency: 'CNY' } }).detail;
        out.codedFields = p.localize(400, { type: type('validation-failed'), detail: nonsense, errors: [
          { field: 'legal_name', message: nonsense, code: 'REQUIRED' },
          { field: 'title', message: 'must be at most 50 characters', code: 'TOO_LONG' },
          { field: 'notes', message: nonsense }] }).errors.map((e) => e.message);
        out.codedUnknown = p.localize(422, { type: type('failed-precondition'), code: 'SOMETHING_NEW', detail: nonsense }).detail;
        out.limit = p.translate('entertainment on 2026-04-01 comes to 600.00 CNY, above the daily limit of 500.00 CNY');
        out.row = p.translate('credit_code: credit code must have 18 characters, got 3');
        out.unknownRow = p.translate('the moon is full');
        i18n.setLocale('en');
        return out;
    }""",
        base,
    )
    assert result["en"] == {
        "detail": "rep already holds 7 customers (cap 7)",
        "errors": [{"field": "max_customers_per_rep", "message": "rep already holds 7 customers (cap 7)"}],
    }
    assert result["code"] == "PASSWORD_CHANGE_REQUIRED"
    assert result["cap"]["detail"] == "您已持有 7 个客户，达到上限（7 个）：请先释放客户再领取。"
    assert result["cap"]["errors"] == [{"field": "max_customers_per_rep", "message": result["cap"]["detail"]}]
    assert result["strange"] == "当前无法执行此操作：the moon is full"
    assert result["fields"]["detail"] == "邮箱：“x@”不是有效的邮箱地址；客户全称：最多 200 个字符"
    assert result["fields"]["errors"][0]["message"] == "“x@”不是有效的邮箱地址"
    assert result["stale"] == "记录已被他人修改：请刷新后重试。"
    assert result["cooldown"] == "您释放的客户须到 2026年4月1日 04:30 之后才能重新领取。"  # Shanghai time
    assert result["limit"] == "2026年4月1日 的招待费合计 ¥600.00，超过每日限额 ¥500.00。"
    assert result["row"] == "统一社会信用代码：统一社会信用代码须为 18 位，当前为 3 位"
    assert result["unknownRow"] == "the moon is full"
    daily = "您今天已领取 5 个客户，达到每日上限（5 个）：请明天再领取。"
    assert result["codedDaily"] == {"detail": daily, "errors": [{"field": "max_claims_per_day", "message": daily}]}
    assert result["codedHeld"] == "您已持有 30 个客户，达到上限（30 个）：请先释放部分客户。"
    assert result["codedCooldown"] == "您释放的客户须到 2026年4月1日 04:30 之后才能重新领取。"
    assert result["codedGate"] == "无法进入下一阶段：还缺少预算、decision_chain_visits；阶段“offer”不可跳过。"
    assert result["codedStale"] == "记录已被他人修改（当前为第 4 版，您提交的是第 3 版）：请刷新后重试。"
    assert result["codedSplit"] == "各代表目标合计 1,100，比团队目标多 100（团队目标 1,000）：分解之和须等于团队目标。"
    assert result["codedLimit"] == "2026年4月1日 的差旅费合计 ¥600.00，超过每日限额 ¥500.00。"
    # a field check's code when its text is unknown; a known text (with its limit) first
    assert result["codedFields"] == ["必填", "最多 50 个字符", "the moon is full"]
    assert result["codedUnknown"] == "当前无法执行此操作：the moon is full"  # an unknown code: the kind's lead-in
    assert result["rate"] == "请求过于频繁（每分钟最多 120 次）：请稍后再试。"


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_a_target_split_that_does_not_add_up_reads_in_chinese(
    context: BrowserContext, platform: Platform, team: dict[str, Any]
) -> None:
    page = context.new_page()
    log_in(page, platform, team["manager_login"], labels=CHINESE)
    page.goto(f"{platform.gateway_url}/console/#/team")
    split = page.get_by_role("form", name="目标分解")
    split.get_by_label("期间").fill("2031-02")
    parts = split.locator("input[data-rep]")
    for n in range(parts.count()):
        parts.nth(n).fill("30000")
    split.get_by_label("团队目标").fill(str(30000 * parts.count() + 40000))
    split.get_by_role("button", name="保存目标").click()
    expect(split.locator(".form-error")).to_contain_text(
        f"各代表目标合计 {30000 * parts.count():,}，比团队目标少 40,000（团队目标 {30000 * parts.count() + 40000:,}）"
    )
    expect(split).not_to_contain_text("add up to")


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_an_imports_refused_rows_read_in_chinese(
    context: BrowserContext, platform: Platform, team: dict[str, Any]
) -> None:
    """An import's refused rows carry the services' messages (not a problem document): each reads
    in Chinese, a duplicate naming the colleague who owns the existing record."""
    page = context.new_page()
    log_in(page, platform, ADMIN_LOGIN, ADMIN_PASSWORD, labels=CHINESE)
    page.get_by_role("link", name="客户", exact=True).click()
    csv = (
        "legal_name,credit_code,tier\n"
        f"导入{team['suffix']}坏码有限公司,123,\n"
        f"导入{team['suffix']}等级有限公司,,gold\n"
        f"{team['theirs']['legal_name']},,\n"
    )
    importer = page.get_by_role("form", name="导入客户")
    importer.get_by_label("CSV 或 Excel 文件").set_input_files(
        {"name": "customers.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    importer.get_by_role("button", name="导入", exact=True).click()
    expect(page.get_by_test_id("import-status")).to_have_text("已处理 3/3 行：创建 0，拒绝 3")
    rows = importer.locator("li.error")
    expect(rows.nth(0)).to_contain_text("统一社会信用代码须为 18 位，当前为 3 位")
    expect(rows.nth(1)).to_contain_text("须为以下之一：")
    expect(rows.nth(2)).to_contain_text(f"的负责人是 {team['other_login']}")
    expect(importer).not_to_contain_text("must")
    expect(importer).not_to_contain_text("already exists")


def test_a_password_change_the_api_still_requires_opens_the_change_form(
    context: BrowserContext, platform: Platform, api: httpx.Client, admin_token: str, team: dict[str, Any]
) -> None:
    """The console knows a refusal by its stable code (the problem's type): a session whose
    tokens still require the first password change, whatever the device remembers, is sent to
    the change form instead of an error page."""
    login = f"prob-new-{team['suffix']}"
    new_user = {
        "login": login,
        "display_name": "New Rep 新人",
        "unit_id": team["unit_id"],
        "roles": ["rep"],
        "initial_password": "Welcome-Field-2027",
    }
    created(api.post("/v1/users", headers=auth(admin_token), json=new_user))
    page = context.new_page()
    log_in(page, platform, login, "Welcome-Field-2027")
    expect(page.get_by_label("New password", exact=True)).to_be_visible()
    page.evaluate("""() => { const s = JSON.parse(localStorage.getItem('salesgrid.session'));
        s.password_change_required = false; localStorage.setItem('salesgrid.session', JSON.stringify(s)); }""")
    page.reload()  # /v1/me answers 403 password-change-required
    expect(page.get_by_label("Current password")).to_be_visible()
    page.get_by_label("Current password").fill("Welcome-Field-2027")
    page.get_by_label("New password", exact=True).fill("My-Own-Secret-2027")
    page.get_by_label("Repeat the new password").fill("My-Own-Secret-2027")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("password change required")


@pytest.mark.parametrize("context", ["zh-CN"], indirect=True)
def test_built_in_role_names_read_in_the_readers_language(context: BrowserContext, platform: Platform) -> None:
    """Built-in roles are named "Sales rep (销售业务员)": an administrator reads his half of it."""
    page = context.new_page()
    log_in(page, platform, ADMIN_LOGIN, ADMIN_PASSWORD, labels=CHINESE)
    page.goto(f"{platform.gateway_url}/console/#/admin/roles")
    roles = page.get_by_test_id("roles")
    expect(roles).to_contain_text("销售业务员")
    expect(roles).not_to_contain_text("Sales rep")
    page.goto(f"{platform.gateway_url}/console/#/admin/users")
    expect(page.get_by_role("form", name="新建用户").locator('select[name="roles"] option[value="rep"]')).to_have_text(
        "销售业务员"
    )
