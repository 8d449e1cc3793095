"""routing.SegmentRouter answers only where Werkzeug's matcher finds the very same rule and
values: compared over every rule of the gateway with every method, with ids that collide with
other routes' literal segments, empty segments, trailing and doubled slashes, and over random
paths built from the rules' own segments; and it does answer the usual paths with an id."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from salesgrid_gateway.app import Gateway, create_app
from salesgrid_gateway.settings import GatewaySettings

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
UUID = "01a24874-a02c-7b7b-91dd-e0eb2f145bc4"


@pytest.fixture(scope="module")
def app() -> Gateway:
    return create_app(GatewaySettings(environment="test", identity_addr="127.0.0.1:1", log_level="WARNING"))


def _werkzeug(app: Gateway, path: str, method: str) -> Any:
    try:
        return app.router.match(path, method, return_rule=True)
    except RequestRedirect as redirect:
        return ("redirect", redirect.new_url)
    except HTTPException as error:
        return ("refused", error.code)


def _literals(app: Gateway) -> list[str]:
    return sorted({s for rule in app.url_map.iter_rules() for s in rule.rule.split("/") if s and "<" not in s})


def _paths(app: Gateway) -> list[str]:
    fillers = [UUID, "c-1", "42", "a b%2F\u00e9", "\n", "", *_literals(app)[:: max(1, len(_literals(app)) // 12)]]
    found = []
    for rule in app.url_map.iter_rules():
        for filler in fillers:
            path = re.sub(r"<(?:[\w]+:)?\w+>", filler.replace("\\", "\\\\"), rule.rule)
            found += [path, path + "/", "/" + path, path.replace("/", "//", 2), path.rstrip("/") + "/x"]
    return found


def _same(app: Gateway, path: str, method: str) -> bool:
    sure = app.segments.match(path, method)
    if sure is not None:
        assert _werkzeug(app, path, method) == sure, (method, path)
    return sure is not None


def test_every_answer_is_werkzeugs(app: Gateway) -> None:
    answered = sum(_same(app, path, method) for path in _paths(app) for method in METHODS)
    assert answered > 500


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_paths_from_the_rules_segments_are_answered_alike(app: Gateway, data: st.DataObject) -> None:
    segment = st.sampled_from(["", UUID, "x", "42", *_literals(app)]) | st.text(max_size=4)
    parts = data.draw(st.lists(segment, min_size=1, max_size=7))
    _same(app, "/" + "/".join(parts), data.draw(st.sampled_from(METHODS)))


def test_the_usual_paths_with_an_id_are_answered_without_werkzeug(app: Gateway) -> None:
    plain = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.arguments and re.fullmatch(r"(/[\w.-]+|/<\w+>)+", rule.rule) and rule.rule.startswith("/v1/")
    ]
    assert len(plain) > 80
    for rule in plain:
        path = re.sub(r"<\w+>", UUID, rule.rule)
        for method in rule.methods or ():
            sure = app.segments.match(path, method)
            assert sure is not None and sure[0] is rule, (method, path)
            assert sure[1] == dict.fromkeys(rule.arguments, UUID)
    assert app.segments.match(f"/v1/customers/{UUID}", "GET")[0].endpoint == "get:/v1/customers/{customer_id}"  # type: ignore[index]
    # an id that is another route's literal, and paths only Werkzeug answers (405, 404, redirects)
    assert app.segments.match("/v1/customers/merge", "GET") is None
    assert app.segments.match(f"/v1/customers/{UUID}/", "GET") is None
    assert app.segments.match("/v1/customers//contacts", "GET") is None
    assert app.segments.match(f"/v1/customers/{UUID}", "POST") is None
