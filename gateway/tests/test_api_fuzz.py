"""Schemathesis against the embedded platform (every service, the gunicorn gateway): every
operation of the OpenAPI document, requests generated from its schemas, sent as an admin, as a
rep and without credentials. Each answer must be documented: no server error, the status among
the operation's responses, the content type and the headers declared, the body valid against
the response schema. Bounded examples keep the run short (SALESGRID_FUZZ_EXAMPLES raises them)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from salesgrid_dev.api import person, root_unit
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from salesgrid_gateway.app import create_app
from salesgrid_gateway.settings import GatewaySettings

EXAMPLES = int(os.environ.get("SALESGRID_FUZZ_EXAMPLES", "3"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _document() -> dict:  # type: ignore[type-arg]
    app = create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))
    return app.test_client().get("/openapi.json").get_json()  # type: ignore[no-any-return]


# The coverage phase (boundary and negative values of every parameter) takes about ten times as
# long: SALESGRID_FUZZ_PHASES=examples,coverage,fuzzing runs it.
PHASES = os.environ.get("SALESGRID_FUZZ_PHASES", "examples,fuzzing").split(",")
SCHEMA = schemathesis.openapi.from_dict(
    _document(),
    config=schemathesis.config.SchemathesisConfig.from_dict(
        {"phases": {name: {"enabled": name in PHASES} for name in ("examples", "coverage", "fuzzing", "stateful")}}
    ),
)


@pytest.fixture(scope="module")
def fuzzed_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform of its own (the records made here stay out of the other integration tests),
    with rate limits far above what the run sends."""
    running = Platform(
        Path(tmp_path_factory.mktemp("fuzz")),
        Ports.free(),
        gateway_workers=2,
        settings={
            "SALESGRID_GATEWAY__RATE_LIMIT_PER_MINUTE": "1000000",
            "SALESGRID_GATEWAY__API_KEY_RATE_LIMIT_PER_MINUTE": "1000000",
        },
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def credentials(fuzzed_platform: Platform) -> dict[str, dict[str, str]]:
    with httpx.Client(base_url=fuzzed_platform.gateway_url, timeout=30) as api:
        login = api.post("/v1/auth/login", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        admin = login.json()["access_token"]
        _, rep = person(api, admin, root_unit(api, admin)["id"], f"fuzz.{uuid.uuid4().hex[:6]}", "rep")
    return {"admin": {"Authorization": f"Bearer {admin}"}, "rep": {"Authorization": f"Bearer {rep}"}, "anonymous": {}}


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        yield opened


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_documented(
    case: schemathesis.Case,
    fuzzed_platform: Platform,
    credentials: dict[str, dict[str, str]],
    session: requests.Session,
) -> None:
    """Each generated request is sent as an admin, as a rep and without credentials."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")}
    for who in ("admin", "rep", "anonymous"):
        case.headers = {**headers, **credentials[who]}
        case.call_and_validate(base_url=fuzzed_platform.gateway_url, session=session, checks=CHECKS, timeout=30)


def test_a_request_line_over_the_limit_is_problem_json(fuzzed_platform: Platform) -> None:
    """gunicorn refuses it before the app runs; the answer is still the API's problem+json."""
    reply = httpx.get(f"{fuzzed_platform.gateway_url}/v1/customers?q={'x' * 5000}", timeout=10)
    assert (reply.status_code, reply.headers["Content-Type"]) == (414, "application/problem+json")
    assert reply.json()["status"] == 414 and reply.headers["X-Request-Id"]
