"""The API reference at /docs in a real browser (Debian's Chromium driven by Playwright) against
the real platform: the vendored Swagger UI renders the OpenAPI 3.1 document (no CDN: every
request stays on the gateway), lists every operation, and "Try it out" with a token works."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from salesgrid_dev.browser import chromium
from salesgrid_dev.platform import Platform

pytest.importorskip("playwright")
from playwright.sync_api import Browser, expect  # noqa: E402

expect.set_options(timeout=20_000)

# The (method, path) of every operation block in the page, as Swagger UI shows them.
_SHOWN_OPERATIONS = """() => [...document.querySelectorAll('.opblock-summary')].map(block => [
    block.querySelector('.opblock-summary-method').innerText,
    block.querySelector('.opblock-summary-path').getAttribute('data-path') || '',
])"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def test_docs_render_every_operation_and_try_it_out_works(
    platform: Platform, api: httpx.Client, admin_token: str, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    document = api.get("/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(platform.gateway_url) else None)
    try:
        page.goto(f"{platform.gateway_url}/docs")
        expect(page.locator(".info .title")).to_contain_text("Salesgrid API", timeout=60_000)
        expect(page.locator(".opblock").first).to_be_visible()
        assert page.evaluate("ui.specSelectors.operations().size") == operations
        # Swagger UI virtualises long lists (only what is on screen is in the page): scroll through
        # it, collecting every operation shown.
        seen: set[tuple[str, str]] = set()
        for _ in range(400):
            shown = page.evaluate(_SHOWN_OPERATIONS)  # one round trip per screen, not two per block
            seen.update((method.lower(), path) for method, path in shown)
            if page.evaluate("window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"):
                break
            page.evaluate("window.scrollBy(0, window.innerHeight / 2)")
            page.wait_for_timeout(60)
        assert seen == {(method, path) for path, item in document["paths"].items() for method in item}
        page.evaluate("window.scrollTo(0, 0)")
        assert page.locator("text=Unable to render this definition").count() == 0
        assert outside == []  # served locally

        page.locator("button.authorize").first.click()
        bearer = page.locator(".auth-container").filter(has_text="(http, Bearer)")
        bearer.locator("input").first.fill(admin_token)
        bearer.locator("button.authorize").click()
        page.locator("button.btn-done").first.click()

        page.goto(f"{platform.gateway_url}/docs#/auth/get_v1_me")  # a deep link opens the operation
        page.reload()  # (a fresh load; the token is kept: persistAuthorization)
        expect(page.locator(".info .title")).to_contain_text("Salesgrid API", timeout=60_000)
        me = page.locator("#operations-auth-get_v1_me")
        expect(me.locator("button.try-out__btn")).to_be_visible(timeout=60_000)
        me.locator("button.try-out__btn").click()
        me.locator("button.execute").click()
        expect(me.locator(".curl-command")).to_contain_text("Authorization: Bearer")
        expect(me.locator(".live-responses-table tr.response .response-col_status").first).to_contain_text("200")
        expect(me.locator(".live-responses-table tr.response .microlight").first).to_contain_text('"login"')
    finally:
        if os.environ.get("SALESGRID_DOCS_SCREENSHOT"):
            page.screenshot(path=os.environ["SALESGRID_DOCS_SCREENSHOT"], full_page=False)
        context.close()
