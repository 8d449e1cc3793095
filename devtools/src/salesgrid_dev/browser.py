"""Debian's Chromium driven by Playwright for the console's browser tests (no browser download:
the system's /usr/bin/chromium is launched headless), with a screenshot of every page of a failed
test kept in a temporary directory."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SALESGRID_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def screenshots_on_failure(context: Any, request: Any, directory: Path) -> Iterator[None]:
    """Screenshots of the context's pages when the test that used it failed."""
    from salesgrid_dev.pytest_plugin import CALL_REPORT

    yield
    report = request.node.stash.get(CALL_REPORT, None)
    if report is None or report.failed:
        _shoot(context, request, directory)


def _shoot(context: Any, request: Any, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    for index, page in enumerate(context.pages):
        target = directory / f"{name}-{index}.png"
        try:
            page.screenshot(path=str(target), full_page=True)
            print(f"screenshot: {target}")
        except Exception as exc:  # a crashed page cannot be shot; the failure itself is reported
            print(f"no screenshot of page {index}: {exc}")


# Where the console's browser tests stand: a customer's door in Shanghai (the browser's geolocation).
AT = {"latitude": 31.2304, "longitude": 121.4737}


def log_in(
    page: Any,
    platform: Any,
    login: str,
    password: str | None = None,
    labels: tuple[str, str, str] = ("Login", "Password", "Log in"),
) -> None:
    """Open the console and log in through its form (labels in the page's language)."""
    from salesgrid_dev.api import PASSWORD

    page.goto(f"{platform.gateway_url}/")
    page.get_by_label(labels[0], exact=True).fill(login)
    page.get_by_label(labels[1], exact=True).fill(PASSWORD if password is None else password)
    page.get_by_role("button", name=labels[2]).click()
