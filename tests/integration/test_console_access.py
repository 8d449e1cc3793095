"""The console is fast, accessible and made for phones, measured in Chromium on the real embedded
platform: the first screen is drawn with its data within 1 s by the browser's own performance
timing, in at most 3 round trips (as every main screen); axe-core (vendored test asset) finds no
serious or critical violation of its WCAG 2.1 A/AA and best-practice rules on the main screens; the
keyboard reaches the content; a phone-sized screen never scrolls sideways and its controls are big
enough to touch."""

from __future__ import annotations

import re
import statistics
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from salesgrid_dev.api import auth, org_unit, person, poll, root_unit
from salesgrid_dev.browser import AT, log_in
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, expect

expect.set_options(timeout=15_000)
AXE = Path(__file__).parent / "assets" / "axe-core" / "axe.min.js"
BUDGET_MS = 1000


@pytest.fixture(scope="module")
def people(api: httpx.Client, admin_token: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:6]
    unit = org_unit(
        api,
        admin_token,
        root_unit(api, admin_token)["id"],
        f"Access team {suffix}",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, _ = person(api, admin_token, unit["id"], f"a11y-mgr-{suffix}", "manager")
    _, rep_token = person(api, admin_token, unit["id"], f"a11y-rep-{suffix}", "rep", manager_id)
    poll(
        lambda: (
            api.post(
                "/v1/customers",
                headers=auth(rep_token),
                json={"legal_name": f"无障碍{suffix}仪器有限公司", "address": {"text": "中山东一路 1 号", **AT}},
            ).status_code
            == 201
        )
    )
    return {"rep": f"a11y-rep-{suffix}", "manager": f"a11y-mgr-{suffix}"}


MAX_ROUND_TRIPS = 3  # no screen waits on a longer waterfall of API calls


def screen_drawn(page: Page, path: str, after: int = 0) -> int:
    """Wait for the console's mark that `path` is drawn with its data; the number of marks so far."""
    page.wait_for_function(
        """([path, after]) => {
        const marks = performance.getEntriesByName('sg:screen');
        return marks.length > after && marks[marks.length - 1].detail === path; }""",
        arg=[path, after],
    )
    return int(page.evaluate("performance.getEntriesByName('sg:screen').length"))


def round_trips(requests: list[dict[str, float]]) -> int:
    """The longest chain of /v1 calls each started after the previous one answered: an upper bound
    of the screen's request waterfall (unrelated calls in sequence count as a chain too)."""
    depth: list[int] = []
    ordered = sorted(requests, key=lambda r: r["start"])
    for index, request in enumerate(ordered):
        before = [depth[i] for i, other in enumerate(ordered[:index]) if other["end"] <= request["start"]]
        depth.append(1 + max(before, default=0))
    return max(depth, default=0)


TIMING = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const screen = performance.getEntriesByName('sg:screen').pop();
    return { interactive: nav.domInteractive, screen: screen ? screen.startTime : null,
             path: screen ? screen.detail : null,
             api: performance.getEntriesByType('resource').filter((r) => new URL(r.name).pathname.startsWith('/v1/'))
               .map((r) => ({ start: r.startTime, end: r.responseEnd, name: new URL(r.name).pathname, queued: r.requestStart - r.startTime })) };
}"""


def test_the_first_screen_is_drawn_within_a_second_in_three_round_trips(
    browser: Browser, platform: Platform, people: dict[str, str]
) -> None:
    """Without the service worker and with the HTTP cache off, every file and call goes over the
    wire: the login form, then the rep's Today screen with all its data, on a reload of a logged-in
    tab. Three loads each; the median must be within budget (one slow load on this shared machine
    is not the console's)."""
    context = browser.new_context(locale="en-US", service_workers="block", geolocation=AT, permissions=["geolocation"])
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        logins = []
        for _ in range(3):
            page.goto(f"{platform.gateway_url}/console/")
            screen_drawn(page, "login")
            logins.append(page.evaluate(TIMING))
        log_in(page, platform, people["rep"])
        screen_drawn(page, "today")
        todays = []
        for _ in range(3):
            page.reload()
            screen_drawn(page, "today")
            todays.append(page.evaluate(TIMING))
        expect(page.get_by_role("heading", level=1, name=re.compile("^Today"))).to_be_visible()
    finally:
        context.close()
    for name, loads in (("login", logins), ("today", todays)):
        assert {load["path"] for load in loads} == {name}
        screen = statistics.median(load["screen"] for load in loads)
        interactive = statistics.median(load["interactive"] for load in loads)
        print(f"{name}: DOM interactive {interactive:.0f} ms, screen drawn {screen:.0f} ms (median of 3)")
        assert interactive < BUDGET_MS and screen < BUDGET_MS, (name, loads)
    assert all(round_trips(load["api"]) <= 3 for load in todays), todays
    assert all(len(load["api"]) >= 5 for load in todays)  # the screen's data did come from the API


def visit(page: Page, platform: Platform, path: str, marks: int, chains: dict[str, int]) -> int:
    """Open a screen by its hash and note the round trips of the API calls it made until drawn
    and its lists loaded (the shell's /v1/me stays out: a hash change does not reload the page).
    The count is an upper bound from timings alone (unrelated calls in sequence count as a chain),
    so on a busy machine a screen can look one round trip deeper than it is: one that looks too
    deep is opened once more (from Today) and its shallower count kept. A real waterfall shows
    in both."""
    for attempt in range(2):
        if attempt:
            page.goto(f"{platform.gateway_url}/console/#/today")
            marks = screen_drawn(page, "today", marks)
        page.evaluate("performance.clearResourceTimings()")
        page.goto(f"{platform.gateway_url}/console/#/{path}")
        marks = screen_drawn(page, path.split("/")[0], marks)
        page.wait_for_function("!document.querySelector('#main .loading')")
        page.wait_for_timeout(300)  # the lists a screen loads after it is drawn
        calls = page.evaluate("""() => performance.getEntriesByType('resource')
            .filter((r) => new URL(r.name).pathname.startsWith('/v1/')).map((r) => ({ start: r.startTime, end: r.responseEnd }))""")
        depth = round_trips(calls)
        chains[path] = min(chains.get(path, depth), depth)
        if chains[path] <= MAX_ROUND_TRIPS:
            break
    return marks


def axe_violations(page: Page) -> list[str]:
    """Serious and critical violations of axe's WCAG 2.1 A/AA and best-practice rules on the page now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
                                                 resultTypes: ['violations'] });
        return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
            .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    }""")
    return list(found)


def test_main_screens_have_no_serious_accessibility_violation_and_work_by_keyboard(
    browser: Browser, platform: Platform, people: dict[str, str]
) -> None:
    # axe is injected as a script: only this test's profile lets it past the console's CSP.
    context = browser.new_context(locale="en-US", bypass_csp=True, service_workers="block")
    found: dict[str, list[str]] = {}
    chains: dict[str, int] = {}
    try:
        page = context.new_page()
        page.goto(f"{platform.gateway_url}/console/")
        screen_drawn(page, "login")
        found["login"] = axe_violations(page)
        log_in(page, platform, people["rep"])
        screen_drawn(page, "today")
        assert page.evaluate("document.activeElement.id") == "main"  # focus follows into the new screen
        # The keyboard on a fresh page: the first Tab reaches the skip link, which moves focus to the content.
        page.reload()
        marks = screen_drawn(page, "today")
        # Today draws its reminders and notices as their answers arrive: a redraw after the Tab
        # below would drop the focused control (focus falls back to the body).
        page.wait_for_load_state("networkidle")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        focused, outline = "BODY", ""
        for _ in range(5):  # a late redraw of today's lists (a loaded machine) drops the focus to the body: again
            page.keyboard.press("Tab")
            focused, outline = page.evaluate(
                "[document.activeElement.tagName, getComputedStyle(document.activeElement).outlineStyle]"
            )
            if focused != "BODY":
                break
            page.evaluate("document.getElementById('main').focus()")
        assert focused != "BODY", "Tab from the content reaches no control"
        assert outline not in ("", "none"), f"the focused control ({focused}) shows no focus ring"
        for path in ("today", "customers", "customers/pool", "board", "expenses", "inbox"):
            if path != "today":
                marks = visit(page, platform, path, marks, chains)
            found[f"rep:{path}"] = axe_violations(page)
        page.get_by_role("button", name="Log out").click()
        for login, password, paths in (
            (people["manager"], None, ("dashboard", "team", "approvals", "announcements", "spot-checks", "channels")),
            (ADMIN_LOGIN, ADMIN_PASSWORD, ("admin/users", "admin/keys", "admin/org", "admin/fields")),
        ):
            log_in(page, platform, login, password)
            marks = screen_drawn(page, "today")
            for path in paths:
                marks = visit(page, platform, path, marks, chains)
                found[f"{login}:{path}"] = axe_violations(page)
            page.get_by_role("button", name="Log out").click()
    finally:
        context.close()
    assert not {screen: v for screen, v in found.items() if v}, found
    assert len(found) == 17
    print("API round trips per screen:", chains)
    # No screen waits on a waterfall: each one's API calls in at most 3 round trips.
    assert len(chains) == 15 and all(0 < depth <= MAX_ROUND_TRIPS for depth in chains.values()), chains


def test_a_phone_screen_never_scrolls_sideways_and_its_controls_are_touch_sized(
    browser: Browser, platform: Platform, people: dict[str, str]
) -> None:
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        geolocation=AT,
        permissions=["geolocation"],
    )
    try:
        page = context.new_page()
        log_in(page, platform, people["rep"], labels=("账号", "密码", "登录"))
        marks = screen_drawn(page, "today")
        for path in ("today", "customers", "board"):
            if path != "today":
                page.goto(f"{platform.gateway_url}/console/#/{path}")
                marks = screen_drawn(page, path, marks)
            layout: dict[str, Any] = page.evaluate("""() => {
                const main = document.getElementById('main');
                const visible = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
                const controls = [...main.querySelectorAll('input:not([type=checkbox]), select, textarea, button')].filter(visible);
                return { page: document.documentElement.scrollWidth, width: window.innerWidth,
                         small: controls.filter((e) => e.getBoundingClientRect().height < 32).map((e) => e.outerHTML.slice(0, 80)),
                         fields: controls.filter((e) => e.matches('input, select, textarea')).map((e) => e.getBoundingClientRect().height),
                         nav: [...document.querySelectorAll('header nav a')].map((a) => a.getBoundingClientRect().right) };
            }""")
            assert layout["page"] <= layout["width"], (path, layout)  # no sideways scroll of the page
            assert not layout["small"], (path, layout["small"])  # every button at least 32 px high
            assert all(height >= 44 for height in layout["fields"]), (path, layout["fields"])
            assert layout["nav"] and max(layout["nav"]) <= layout["width"], (path, layout["nav"])
        # The board scrolls inside itself, one stage column at a time.
        board = page.get_by_test_id("board")
        assert board.evaluate("(b) => b.scrollWidth > b.clientWidth && getComputedStyle(b).overflowX === 'auto'")
        expect(page.get_by_role("heading", name="立项")).to_be_visible()
    finally:
        context.close()
