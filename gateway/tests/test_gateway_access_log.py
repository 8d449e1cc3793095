"""The gateway writes one structured JSON line per request — request id, method, route, status,
duration, client address, principal and the trace id a partner's traceparent carried — and never
the caller's credentials; an operator turns it off with the log level."""

from __future__ import annotations

import json

import pytest

from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_one_json_line_per_request_without_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="INFO"))
    client = test_client(app)
    secret = "not-a-real-token-but-secret"
    reply = client.get(
        "/v1/customers",
        headers={
            "Authorization": f"Bearer {secret}",
            "X-Request-Id": "req-1",
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        },
    )
    assert reply.status_code == 401
    client.get("/healthz")
    err = capsys.readouterr().err
    access = [entry for entry in lines(err) if entry.get("logger") == "salesgrid_gateway.access"]
    assert len(access) == 2
    first = access[0]
    assert (first["request_id"], first["method"], first["route"], first["status"]) == (
        "req-1",
        "GET",
        "/v1/customers",
        401,
    )
    assert first["trace_id"] == TRACE_ID  # the partner's trace is continued, not replaced
    assert first["duration_ms"] >= 0 and first["principal_id"] == ""
    assert access[1]["route"] == "/healthz" and access[1]["status"] == 200
    assert secret not in err


def test_the_access_line_follows_the_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    test_client(app).get("/healthz")
    assert not [e for e in lines(capsys.readouterr().err) if e.get("logger") == "salesgrid_gateway.access"]
