"""The console's files as the gateway serves them (redirects, cache headers, content-security
policy), and a check that every text the console shows has its Chinese translation."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from salesgrid_dev.gateway_client import test_client, TestClient
from salesgrid_gateway.app import create_app
from salesgrid_gateway.console import STATIC, assets_version
from salesgrid_gateway.settings import GatewaySettings


@pytest.fixture(scope="module")
def client() -> TestClient:
    # Serving files needs no service: the identity address is never dialled by these requests.
    return test_client(create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:9")))


def test_root_and_old_paths_lead_to_the_console(client: TestClient) -> None:
    for path in ("/", "/console", "/app"):
        reply = client.get(path)
        assert reply.status_code in (301, 302) and reply.headers["Location"].endswith("/console/"), path


def test_index_is_uncached_names_hashed_assets_and_forbids_foreign_code(client: TestClient) -> None:
    reply = client.get("/console/")
    assert reply.status_code == 200 and reply.mimetype == "text/html"
    assert reply.headers["Cache-Control"] == "no-cache"
    csp = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    page = reply.get_data(as_text=True)
    assert f"/console/assets/{assets_version()}/js/app.js" in page and "{{ASSETS}}" not in page


def test_assets_are_cached_for_a_year_only_under_the_current_hash(client: TestClient) -> None:
    current = client.get(f"/console/assets/{assets_version()}/js/app.js")
    assert current.status_code == 200 and current.mimetype == "text/javascript"
    assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Security-Policy" in current.headers
    stale = client.get("/console/assets/0000oldhash0/js/app.js")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get(f"/console/assets/{assets_version()}/index.html").status_code == 404
    assert client.get(f"/console/assets/{assets_version()}/../__init__.py").status_code == 404


def test_the_api_is_untouched_by_the_console(client: TestClient) -> None:
    reply = client.get("/v1/customers")
    assert reply.status_code == 401 and "Content-Security-Policy" not in reply.headers


def test_every_modules_preloaded_and_every_import_exists() -> None:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    modules = {p.relative_to(STATIC).as_posix() for p in (STATIC / "js").rglob("*.js")}
    preloaded = set(re.findall(r'modulepreload" href="\{\{ASSETS\}\}/([^"]+)"', page))
    assert modules - {"js/app.js"} == preloaded  # one round trip for all modules, no waterfall
    for module in modules:
        source = (STATIC / module).read_text(encoding="utf-8")
        for target in re.findall(r'^import .* from "([^"]+)";', source, re.M):
            assert (STATIC / module).parent.joinpath(target).resolve().is_file(), (module, target)


def _shown_texts() -> set[str]:
    texts: set[str] = set()
    for path in (STATIC / "js").rglob("*.js"):
        source = path.read_text(encoding="utf-8")
        texts |= {json.loads(f'"{m}"') for m in re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', source)}
        texts |= set(re.findall(r'\blabel: "([^"]+)"', source))  # menu and tab labels, translated by t()
    return texts


def test_every_text_has_a_chinese_translation() -> None:
    source = (STATIC / "js" / "zh-CN.js").read_text(encoding="utf-8")
    body = source[source.index("export default") + len("export default") :].strip().rstrip(";")
    body = re.sub(r",\s*}$", "}", body)  # the trailing comma JavaScript allows and JSON does not
    chinese = json.loads(body)
    missing = sorted(_shown_texts() - set(chinese))
    assert not missing, f"no zh-CN text for: {missing}"
    assert all(re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]|VIP|API", text) for text in chinese.values())
    # placeholders survive translation
    for english, translated in chinese.items():
        assert set(re.findall(r"\{\w+\}", english)) == set(re.findall(r"\{\w+\}", translated)), english


def test_index_and_worker_revalidate_with_an_etag(client: TestClient) -> None:
    for path in ("/console/", "/console/sw.js"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache" and first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and not again.get_data() and "Content-Security-Policy" in again.headers


def test_text_assets_are_sent_gzipped_to_browsers_that_accept_it(client: TestClient) -> None:
    url = f"/console/assets/{assets_version()}/js/zh-CN.js"
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert packed.mimetype == "text/javascript" and packed.headers["Cache-Control"].endswith("immutable")
    assert gzip.decompress(packed.get_data()) == plain.get_data() == (STATIC / "js" / "zh-CN.js").read_bytes()
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    assert "Content-Encoding" not in plain.headers
    assert (
        client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}).status_code == 304
    )
    icon = client.get(f"/console/assets/{assets_version()}/icon.svg", headers={"Accept-Encoding": "gzip"})
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert (
        client.get(
            f"/console/assets/{assets_version()}/../__init__.py", headers={"Accept-Encoding": "gzip"}
        ).status_code
        == 404
    )
