"""The gateway's HTTP plumbing (web.py, app.py) on the ASGI app itself: query strings, bodies over
the limit, HEAD, request lines over the limit, preflights, unknown methods and paths; each refusal
problem+json with the request id."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_dev.gateway_client import TestClient, test_client
from salesgrid_gateway import app as gateway_app
from salesgrid_gateway import web
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings


@pytest.fixture
def client() -> TestClient:
    return test_client(
        create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    )


def _request(
    query: bytes = b"", body: list[bytes] | None = None, headers: list[tuple[bytes, bytes]] | None = None
) -> web.Request:
    pieces = list(body or [b""])

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    scope = {"type": "http", "method": "POST", "path": "/x", "query_string": query, "headers": headers or []}
    return web.Request(scope, receive, max_body=10)


def test_query_strings_are_utf8_and_keep_repeats_and_blanks() -> None:
    request = _request(b"q=%E5%BC%A0%E4%B8%89&tag=a&tag=b&empty=&plus=a+b")
    assert request.args["q"] == "张三" and request.args.getlist("tag") == ["a", "b"]
    assert request.args["empty"] == "" and request.args["plus"] == "a b"


def test_headers_are_read_by_any_case_and_repeats_are_joined() -> None:
    request = _request(
        headers=[(b"X-Thing", b"1"), (b"x-thing", b"2"), (b"content-type", b"Application/JSON; charset=utf-8")]
    )
    assert request.headers.get("x-THING") == "1, 2" and "X-Thing" in request.headers
    assert request.mimetype == "application/json" and request.is_json


async def test_a_body_arrives_in_pieces_and_over_the_limit_is_refused() -> None:
    chunked = [(b"transfer-encoding", b"chunked")]
    assert await _request(body=[b"abc", b"def"], headers=chunked).read_body() == b"abcdef"
    assert await _request(body=[b"never read"]).read_body() == b""  # no length, not chunked: no body
    streamed = [piece async for piece in _request(body=[b"abcdefg", b"hij"]).stream(4)]
    assert streamed == [b"abcd", b"efgh", b"ij"]
    with pytest.raises(web.BodyTooLarge):  # sent without a length: counted as it comes
        await _request(body=[b"abcdefgh", b"ijkl"], headers=chunked).read_body()
    declared = _request(body=[b"x"], headers=[(b"content-length", b"11")])
    with pytest.raises(web.BodyTooLarge):
        await declared.read_body()  # refused on its Content-Length, before reading


def test_a_body_over_the_gateways_limit_is_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gateway_app, "MAX_BODY_BYTES", 16)
    reply = client.post("/v1/auth/login", json={"login": "someone", "password": "x" * 32})
    assert reply.status_code == 413 and reply.mimetype == "application/problem+json"
    assert reply.get_json()["instance"] == f"urn:request:{reply.headers['X-Request-Id']}"


def test_head_answers_the_headers_of_get_without_the_body(client: TestClient) -> None:
    got, head = client.get("/healthz"), client.head("/healthz")
    assert head.status_code == 200 and head.data == b"" and got.data
    assert head.headers["Content-Length"] == got.headers["Content-Length"] == str(len(got.data))


def test_a_request_line_over_the_limit_is_414(client: TestClient) -> None:
    reply = client.get("/v1/customers?q=" + "x" * 5000)
    assert reply.status_code == 414 and reply.get_json()["status"] == 414 and reply.headers["X-Request-Id"]
    assert client.get("/healthz?q=" + "x" * 4000).status_code == 200


def test_preflights_unknown_paths_and_methods(client: TestClient) -> None:
    assert client.options("/v1/customers").status_code == 204
    missing = client.get("/v2/nothing")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert client.get("/v1/nothing").status_code == 401  # credentials first, as for any /v1 path
    wrong = client.open("/healthz", "DELETE")
    assert wrong.status_code == 405 and wrong.mimetype == "application/problem+json"


async def test_the_client_refuses_to_wait_on_its_own_loop() -> None:
    client = test_client(
        create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    )
    with pytest.raises(RuntimeError, match="another thread"):
        client.get("/healthz")
    assert (await asyncio.to_thread(client.get, "/healthz")).get_json() == {"status": "ok"}


JSON_KEYS = st.text(max_size=5) | st.sampled_from(["a", "B", "é", "\u00ff", "\u4e2d", "\U0001f600", "_", "a1", "A"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_json_is_written_alike_whether_or_not_every_key_is_a_string(value: Any) -> None:
    """web.dumps first asks orjson to take every key for a string (faster), then allows others:
    the same bytes as orjson with non-string keys allowed, keys sorted either way."""
    everything = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    assert web.dumps(value) == orjson.dumps(value, default=web._default, option=everything)
    assert (
        web.dumps({1: "one", "a": [{date(2026, 12, 6): Decimal("1.50")}]})
        == b'{"1":"one","a":[{"2026-12-06":"1.50"}]}\n'
    )
