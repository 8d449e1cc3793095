"""Schemathesis against the embedded platform (every service, the gunicorn gateway): every
operation of the OpenAPI document, requests generated from its schemas, sent as an admin, as a
rep and without credentials. Each answer must be documented: no server error, the status among
the operation's responses, the content type and the headers declared, the body valid against
the response schema. Bounded examples keep the run short (SALESGRID_FUZZ_EXAMPLES raises them)."""

from __future__ import annotations

import itertools
import json
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from salesgrid_dev.api import person, root_unit
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports
from salesgrid_dev.gateway_client import test_client
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
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
    return test_client(app).get("/openapi.json").get_json()  # type: ignore[no-any-return]


# Phases: examples (each as all three callers), coverage (boundary and negative values of every
# parameter) and fuzzing (an operation's three generated cases), each case sent as one of the three
# callers in turn (as all three, the run took three times as long: the calls are most of it), and
# stateful (sequences following the links inferred from the document, once per caller, bounded by
# SALESGRID_FUZZ_SCENARIOS and SALESGRID_FUZZ_STEPS).
PHASES = os.environ.get("SALESGRID_FUZZ_PHASES", "examples,coverage,fuzzing,stateful").split(",")
SCENARIOS = int(os.environ.get("SALESGRID_FUZZ_SCENARIOS", "5"))
STEPS = int(os.environ.get("SALESGRID_FUZZ_STEPS", "6"))
CALLERS = ("admin", "rep", "anonymous")
SCHEMA = schemathesis.openapi.from_dict(
    _document(),
    config=schemathesis.config.SchemathesisConfig.from_dict(
        {
            "phases": {
                "examples": {"enabled": "examples" in PHASES},
                # unexpected methods are the same 405 for every path: checked once, below
                "coverage": {"enabled": "coverage" in PHASES, "unexpected-methods": []},
                "fuzzing": {"enabled": "fuzzing" in PHASES},
                "stateful": {"enabled": "stateful" in PHASES},
            }
        }
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
        opened.trust_env = False  # no proxy look-up in the environment per request (none is needed)
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
    """Each generated request is sent as an admin, as a rep or without credentials, in turn (an
    operation's explicit examples as all three)."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")}
    callers = CALLERS
    if case.meta is not None and case.meta.phase.name in (TestPhase.COVERAGE, TestPhase.FUZZING):
        callers = (CALLERS[next(_turn) % len(CALLERS)],)
    for who in callers:
        case.headers = {**headers, **credentials[who]}
        case.call_and_validate(base_url=fuzzed_platform.gateway_url, session=session, checks=CHECKS, timeout=30)


_turn = itertools.count()


@pytest.mark.skipif("stateful" not in PHASES, reason="stateful phase not selected")
@pytest.mark.parametrize("who", CALLERS)
def test_sequences_of_calls_are_documented(
    who: str, fuzzed_platform: Platform, credentials: dict[str, dict[str, str]], session: requests.Session
) -> None:
    """Stateful: sequences of calls, each feeding the next through the links Schemathesis infers
    (a created record's id read, changed, listed...), every answer checked like above."""
    machine = SCHEMA.as_state_machine()

    class Sequences(machine):  # type: ignore[valid-type, misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            case.headers = {
                **{k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-api-key")},
                **credentials[who],
            }
            return {"base_url": fuzzed_platform.gateway_url, "session": session, "timeout": 30}

        def validate_response(self, response: Any, case: schemathesis.Case, *_: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)

    Sequences.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_an_unexpected_method_is_problem_json(
    fuzzed_platform: Platform, credentials: dict[str, dict[str, str]]
) -> None:
    """What the coverage phase's unexpected-methods cases would send to every path, once."""
    for method in ("TRACE", "DELETE", "PUT"):
        reply = httpx.request(
            method, f"{fuzzed_platform.gateway_url}/v1/customers", headers=credentials["admin"], timeout=10
        )
        assert (reply.status_code, reply.headers["Content-Type"]) == (405, "application/problem+json"), method


def test_a_request_line_over_the_limit_is_problem_json(fuzzed_platform: Platform) -> None:
    """Refused before any credentials are looked at; the answer is the API's problem+json."""
    reply = httpx.get(f"{fuzzed_platform.gateway_url}/v1/customers?q={'x' * 5000}", timeout=10)
    assert (reply.status_code, reply.headers["Content-Type"]) == (414, "application/problem+json")
    assert reply.json()["status"] == 414 and reply.headers["X-Request-Id"]


def test_a_malformed_request_is_refused_by_the_server_as_problem_json(fuzzed_platform: Platform) -> None:
    """The HTTP server refuses what is not HTTP before the app runs (wire_errors.GatewayWorker)."""
    port = int(fuzzed_platform.gateway_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"Content-Type: application/problem+json" in head
    assert json.loads(body)["status"] == 400 and json.loads(body)["title"] == "Bad Request"
