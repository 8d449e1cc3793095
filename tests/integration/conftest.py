"""The real platform (nats-server, every service process, gunicorn gateway) started once for the
integration tests by the same runner code as `make run`, on free ports."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports
from salesgrid_dev.spans import SpanReceiver


@pytest.fixture(scope="session")
def spans(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpanReceiver]:
    """Where every process of the platform exports its spans (OTLP), for the tracing tests."""
    receiver = SpanReceiver(tmp_path_factory.mktemp("spans") / "spans.jsonl").start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory, spans: SpanReceiver) -> Iterator[Platform]:
    running = Platform(
        Path(tmp_path_factory.mktemp("platform")),
        Ports.free(),
        gateway_workers=1,
        # Activities draws reps' ended weeks for spot checks every few seconds instead of every 5
        # minutes, so a test sees the draw (test_console_announcements.py).
        settings={"SALESGRID_OTLP_ENDPOINT": spans.endpoint, "SALESGRID_ACTIVITIES__SPOT_CHECK_SECONDS": "3"},
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def admin_token(api: httpx.Client) -> str:
    reply = api.post("/v1/auth/login", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


# --- the console's browser tests (Playwright driving Debian's Chromium) --------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module of browser tests. Not per session: Playwright's sync API
    keeps an event loop running in this thread while it is started, and the asynchronous tests
    that follow (the NATS supercluster, the chaos run) need the thread's loop free."""
    pytest.importorskip("playwright")
    from salesgrid_dev.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser profile standing at the customer's door in Shanghai (locale from the
    test's parameter, en-US by default); screenshots of its pages are kept when the test fails."""
    from salesgrid_dev.browser import AT, screenshots_on_failure

    locale = getattr(request, "param", "en-US")
    made = browser.new_context(
        locale=locale, geolocation=AT, permissions=["geolocation"], viewport={"width": 1280, "height": 900}
    )
    with screenshots_on_failure(made, request, Path(tempfile.gettempdir()) / "salesgrid-console-screenshots"):
        yield made
    made.close()
