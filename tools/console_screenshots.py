"""Screenshots of the web console for the README, taken in Debian's Chromium against a running
platform with the demo data (`make run`, then: .venv/bin/python tools/console_screenshots.py
[http://127.0.0.1:8080]). Writes docs/console-*.png."""

from __future__ import annotations

import sys
from pathlib import Path

from salesgrid_dev.browser import chromium
from salesgrid_dev.seed import DEMO_PASSWORD

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHOTS = [  # (file, login, screen, locale, viewport)
    ("console-rep-day.png", "rep1111", "today", "en-US", {"width": 1200, "height": 1400}),
    ("console-rep-day-phone-zh.png", "rep1111", "today", "zh-CN", {"width": 390, "height": 1500}),
    ("console-manager-dashboard.png", "manager11", "dashboard", "en-US", {"width": 1360, "height": 900}),
    ("console-board.png", "rep1111", "board", "en-US", {"width": 1360, "height": 820}),
    ("console-approvals.png", "sup111", "approvals", "en-US", {"width": 1200, "height": 760}),
]


def main(base: str) -> None:
    with chromium() as browser:
        for name, login, screen, locale, viewport in SHOTS:
            context = browser.new_context(
                locale=locale,
                viewport=viewport,
                geolocation={"latitude": 31.23, "longitude": 121.47},
                permissions=["geolocation"],
            )
            page = context.new_page()
            page.goto(f"{base}/console/")
            page.locator("input[name=login]").fill(login)
            page.locator("input[name=password]").fill(DEMO_PASSWORD)
            page.locator("form.login button[type=submit]").click()
            page.locator("header.topbar").wait_for()
            page.goto(f"{base}/console/#/{screen}")
            page.locator("main h1").first.wait_for()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(DOCS / name), full_page=False)
            print(DOCS / name)
            context.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080")
