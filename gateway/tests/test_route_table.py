"""The route table: every /v1 rule of the app is an operation of the OpenAPI document and the
reverse; input errors are 4xx problems naming the parameter, refused before any service is
called (no service is configured here: a call would be a 503)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest

from salesgrid_dev.testing import TestKeys, principal, stand_in_identity
from salesgrid_dev.gateway_client import test_client, TestClient
from salesgrid_gateway import web
from salesgrid_gateway.app import create_app
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.rest import inputs
from salesgrid_gateway.settings import GatewaySettings


def _app_client(identity_addr: str = "127.0.0.1:1") -> TestClient:
    return test_client(
        create_app(GatewaySettings(environment="test", identity_addr=identity_addr, log_level="WARNING"))
    )


def test_every_v1_rule_is_an_operation_and_every_operation_a_rule() -> None:
    client = _app_client()
    rules = set()
    for rule in client.app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            rules |= {(path, method.lower()) for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    document = client.get("/openapi.json").get_json()
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert rules == operations
    assert len(operations) > 150


def test_every_operation_documents_its_statuses_and_list_bodies() -> None:
    document = _app_client().get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "default" not in statuses, (method, path)
            assert {"400", "414", "429", "503"} <= statuses, (method, path)
            if operation.get("security") != []:
                assert {"401", "403", "404"} <= statuses, (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= statuses, (method, path)
            if any(p["name"] == "If-Match" for p in operation.get("parameters", [])):
                assert "412" in statuses, (method, path)
            success = [s for s in statuses if s.startswith("2")]
            assert len(success) == 1, (method, path)
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            answers = operation["responses"][success[0]]["headers"]
            if operation.get("security") != []:  # RateLimit on every authenticated answer
                assert {"RateLimit", "RateLimit-Policy", "X-Request-Id"} <= set(answers), (method, path)
                if method in ("post", "put", "patch", "delete"):  # retry-safe writes
                    assert "Idempotency-Key" in headers and "Idempotent-Replayed" in answers, (method, path)
            if method == "get" and success[0] == "200":  # every read describes what it answers
                assert operation["responses"]["200"].get("content"), (method, path)
    assert "428" in document["paths"]["/v1/customers/{customer_id}"]["patch"]["responses"]  # If-Match required
    for path in ("/v1/customers/{customer_id}", "/v1/opportunities/{opportunity_id}"):  # and documented so
        assert {"name": "If-Match", "required": True} in [
            {"name": p["name"], "required": p["required"]} for p in document["paths"][path]["patch"]["parameters"]
        ], path
    advance = document["paths"]["/v1/opportunities/{opportunity_id}/advance"]["post"]["responses"]
    assert "412" in advance and "428" not in advance  # If-Match optional
    customers = document["paths"]["/v1/customers"]["get"]["responses"]["200"]["content"]["application/json"]
    assert customers["schema"]["properties"]["items"]["items"] == {"$ref": "#/components/schemas/Customer"}
    schemas = document["components"]["schemas"]
    assert schemas["TokenPair"]["properties"]["expires_in"]["type"] == "integer"  # int64: a JSON number
    assert schemas["Customer"]["properties"]["updated_at"] == {"type": "string", "format": "date-time"}
    patch = document["paths"]["/v1/org-units/{unit_id}"]["patch"]
    assert "ip_allowlist" in patch["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert "set_ip_allowlist" not in patch["requestBody"]["content"]["application/json"]["schema"]["properties"]


BAD_INPUTS = [
    ("get", "/v1/customers?limit=%C2%B2", None, {}, 400, "limit"),  # '²': isdigit() but not int()
    ("get", "/v1/customers?limit=501", None, {}, 400, "limit"),
    ("get", "/v1/customers?cursor=bm90LWEtY3Vyc29y", None, {}, 400, "cursor"),
    ("get", "/v1/customers?updated_since=yesterday", None, {}, 400, "updated_since"),
    ("get", "/v1/contract-templates/t1?version=99999999999", None, {}, 400, "version"),  # int32
    ("get", "/v1/analytics/performance?group_depth=%C2%B2", None, {}, 400, "group_depth"),
    ("get", "/v1/analytics/leaderboard?limit=-99999999999", None, {}, 400, "limit"),
    ("get", "/v1/exports?report=performance&limit=%C2%B2", None, {}, 400, "limit"),
    ("get", "/v1/org-units?include_inactive=maybe", None, {}, 400, "include_inactive"),
    ("get", "/v1/inbox?unread=1", None, {}, 400, "unread"),
    ("patch", "/v1/customers/c1", {"legal_name": "x"}, {"If-Match": '"²"'}, 400, "If-Match"),
    ("patch", "/v1/customers/c1", {"legal_name": "x"}, {}, 428, "If-Match"),
    ("patch", "/v1/customers/c1", {"legal_name": "x", "version": "one"}, {}, 400, "version"),
    ("post", "/v1/customers/c1/release", {"reason": "a\u0000b"}, {}, 400, "reason"),
    ("post", "/v1/follow-ups", {"kind": "call", "occurred_at": "2026-01-01T00:00:00Z", "notes": 5}, {}, 400, "notes"),
    (
        "post",
        "/v1/follow-ups",
        {"kind": "call", "occurred_at": "2026-01-01T00:00:00Z", "notes": "n", "x": 1},
        {},
        400,
        "x",
    ),
    ("post", "/v1/org-units/u1/move", {}, {}, 400, "new_parent_id"),
    ("post", "/v1/check-ins", {"customer_id": "c", "reading": {"latitude": "north"}}, {}, 400, "reading"),
    (
        "post",
        "/v1/expense-claims/c1/lines/99999999999/receipts",
        None,
        {"Content-Type": "application/pdf", "Content-Length": "4"},
        400,
        "line_no",
    ),
]


@pytest.fixture
async def signed_in(test_keys: TestKeys) -> Any:
    async with stand_in_identity(test_keys) as identity_addr:
        client = _app_client(identity_addr)
        token = test_keys.token(principal("rep-a", "/c/t1/", permissions={"customers:read": "own"}))
        yield client, {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "field"),
    BAD_INPUTS,
    ids=[f"{m} {p} {s}" for m, p, _, _, s, _ in BAD_INPUTS],
)
async def test_input_errors_are_problems_naming_the_field(
    signed_in: Any, method: str, path: str, body: Any, headers: dict[str, str], status: int, field: str | None
) -> None:
    client, auth = signed_in
    kwargs: dict[str, Any] = {"headers": {**auth, **headers}}
    if body is not None:
        kwargs["json"] = body
    elif headers.get("Content-Type") == "application/pdf":
        kwargs["data"] = b"%PDF"
    reply = await asyncio.to_thread(getattr(client, method), path, **kwargs)
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.mimetype == "application/problem+json"
    if field:
        assert field in [e["field"] for e in reply.get_json().get("errors", [])], reply.get_json()


async def test_a_body_that_is_not_json_is_415(signed_in: Any) -> None:
    client, auth = signed_in
    reply = await asyncio.to_thread(
        client.post,
        "/v1/org-units/u1/move",
        data="new_parent_id=x",
        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status_code, reply.mimetype) == (415, "application/problem+json")


async def test_an_empty_path_segment_is_an_empty_id_not_a_shorter_path(signed_in: Any) -> None:
    """An empty id drops its segment on the way (POST /v1/opportunities//regress is sent as
    /v1/opportunities/regress, which is GET/PATCH /v1/opportunities/{id}): 404, not that route's
    405. A collection's own URL with a method only its items have stays 405."""
    client, auth = signed_in
    for path in ("/v1/opportunities//regress", "/v1/opportunities/regress"):
        reply = await asyncio.to_thread(client.post, path, json={}, headers=auth)
        assert (reply.status_code, reply.mimetype) == (404, "application/problem+json"), path
    reply = await asyncio.to_thread(client.delete, "/v1/webhooks", headers=auth)
    assert (reply.status_code, reply.mimetype) == (405, "application/problem+json")


def test_no_path_parameter_may_be_empty() -> None:
    """An empty id would collapse the URL into another route's; the document says so to clients
    (and to Schemathesis, which otherwise sends them)."""
    document = _app_client().get("/openapi.json").get_json()
    loose = [
        (path, method, parameter["name"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
        and parameter["schema"].get("type") == "string"
        and not parameter["schema"].get("minLength")
    ]
    assert loose == []


@contextlib.contextmanager
def _answering(app: Any, url: str) -> Iterator[None]:
    """`app` answering a GET of `url`: what the views read as `request` is that request."""
    path, _, query = url.partition("?")
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "headers": []}
    token = web.bind(web.Current(web.Request(scope, _nothing, 0), app))
    try:
        yield
    finally:
        web.unbind(token)


async def _nothing() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


def test_a_cursor_belongs_to_its_list() -> None:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    cursor = inputs.encode_cursor("get:/v1/customers", "01J2-last-id")
    assert cursor and inputs.encode_cursor("get:/v1/customers", "") is None
    with _answering(app, f"/v1/customers?cursor={cursor}"):
        assert inputs.decode_cursor("get:/v1/customers") == "01J2-last-id"
        with pytest.raises(ApiProblem) as refused:
            inputs.decode_cursor("get:/v1/pool")  # a cursor of another list
        assert refused.value.errors == [{"field": "cursor", "message": refused.value.errors[0]["message"]}]
    for garbled in ("%C2%B2", "abc", cursor[:-1], "." + cursor.split(".")[1]):
        with _answering(app, f"/v1/customers?cursor={garbled}"), pytest.raises(ApiProblem):
            inputs.decode_cursor("get:/v1/customers")


def test_the_servers_own_refusals_are_problem_json() -> None:
    from salesgrid_gateway import wire_errors

    raw = wire_errors.problem_bytes(414, "Request-URI Too Large")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 414 ") and b"Content-Type: application/problem+json" in head
    import json

    assert json.loads(body)["status"] == 414 and json.loads(body)["title"] == "URI Too Long"


def test_inbox_items_document_their_kind_parameters_for_clients_that_translate() -> None:
    item = _app_client().get("/openapi.json").get_json()["components"]["schemas"]["InboxItem"]["properties"]
    assert item["params"]["type"] == "object" and item["params"]["additionalProperties"] == {"type": "string"}
    assert "instalment_overdue" in item["params"]["description"] and "English" in item["title"]["description"]


def test_every_paged_list_can_be_asked_for_its_total() -> None:
    """Counts only when asked: each paged list documents include_total and the optional total,
    and each paged list request of every service (page_size + token) carries the flag."""
    from salesgrid_gateway.app import route_modules

    paged = [route for module in route_modules() for route in getattr(module, "ROUTES", ()) if route.paging]
    assert len(paged) >= 20
    for route in paged:
        assert "include_total" in route.request_descriptor.fields_by_name, route.rpc
        assert route.reply_descriptor.fields_by_name["total"].has_presence, route.rpc
    document = _app_client().get("/openapi.json").get_json()
    for route in paged:
        operation = document["paths"][route.path][route.method.lower()]
        assert "include_total" in [p["name"] for p in operation["parameters"]], route.path
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["properties"]["total"]["type"] == "integer" and "total" not in body["required"], route.path


def test_a_route_without_parameters_is_found_as_the_router_finds_it() -> None:
    """The gateway looks such paths up in a table (app.static_routes) before Werkzeug's matcher:
    for every one of them and each of its methods, the matcher finds the same rule."""
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    assert ("/v1/me", "GET") in app.static_routes and ("/v1/follow-ups", "POST") in app.static_routes
    assert not any("<" in path for path, _ in app.static_routes)
    for (path, method), rule in app.static_routes.items():
        assert app.router.match(path, method, return_rule=True)[0] is rule
    assert {m for p, m in app.static_routes if p == "/v1/customers"} == {"GET", "HEAD", "POST"}
