"""Idempotency records and rate-limit counters in the shared store, on NATS key-value (as in
production) and on the per-process stand-in: several limiters stand for several gateway workers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from flask import Flask, Response, g

from salesgrid_gateway import clients, idempotency
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.ratelimit import SharedRateLimiter, batch_size
from salesgrid_gateway.shared_store import KvStore, MemoryStore, NatsKvStore

BUCKETS = {idempotency.BUCKET: idempotency.TTL_SECONDS, "SALESGRID_RATELIMIT": 180}


@pytest.fixture(params=["nats", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[KvStore]:
    if request.param == "memory":
        yield MemoryStore(BUCKETS)
    else:
        nats_store = NatsKvStore(request.getfixturevalue("nats_url"), BUCKETS)
        yield nats_store
        nats_store.close()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_batches_shrink_and_never_pass_the_limit() -> None:
    assert batch_size(600, 0) == 12 and batch_size(600, 590) == 1 and batch_size(600, 600) == 0
    assert batch_size(3, 0) == 1 and batch_size(3, 3) == 0


def test_workers_together_never_serve_more_than_the_limit(store: KvStore) -> None:
    clock = Clock(1_000_040.0)  # 40 s left in the window
    workers = [SharedRateLimiter(store, clock) for _ in range(3)]
    served, refused = 0, []
    for i in range(150):
        try:
            headers = workers[i % 3].hit("user:u1", 100)
            served += 1
            assert headers["RateLimit-Policy"] == "100;w=60"
        except ApiProblem as problem:
            refused.append(problem)
    assert served == 100  # round robin: every reserved request is eventually used
    assert refused[0].status == 429 and refused[0].headers["Retry-After"] == "40"
    assert "remaining=0" in refused[0].headers["RateLimit"]
    # Another principal has its own counter; the next window starts afresh.
    assert workers[0].hit("user:u2", 100)
    clock.now += 40
    assert "limit=100" in workers[1].hit("user:u1", 100)["RateLimit"]


def test_most_requests_need_no_round_trip(store: KvStore) -> None:
    calls = []

    class Counting:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            def call(*args):  # type: ignore[no-untyped-def]
                calls.append(name)
                return getattr(store, name)(*args)

            return call

    limiter = SharedRateLimiter(Counting(), Clock(2_000_000.0))  # type: ignore[arg-type]
    for _ in range(60):
        limiter.hit("api_key:k1", 600)
    assert len(calls) == 1 + 4 * 2, calls  # 5 batches of 12: create, then get + update each


LEASE = 15.0


def _request(app: Flask, body: dict, key: str = "k-1", method: str = "POST"):  # type: ignore[no-untyped-def]
    return app.test_request_context(
        "/v1/follow-ups", method=method, json=body, headers={"Idempotency-Key": key} if key else {}
    )


def test_idempotency_key_replays_refuses_reuse_and_serialises(store: KvStore) -> None:
    app = Flask(__name__)
    with _request(app, {"notes": "a"}) as ctx:
        claim = idempotency.begin(store, "user:u1", ctx.request, LEASE)
        assert isinstance(claim, idempotency.Claim)
        with _request(app, {"notes": "a"}) as ctx2:  # concurrent retry while the first runs
            with pytest.raises(ApiProblem) as busy:
                idempotency.begin(store, "user:u1", ctx2.request, LEASE)
            assert busy.value.status == 409 and busy.value.headers["Retry-After"] == "1"
        idempotency.finish(
            store,
            claim,
            Response(
                json.dumps({"id": "f1"}),
                status=201,
                mimetype="application/json",
                headers={"Location": "/v1/follow-ups/f1", "X-Request-Id": "r1"},
            ),
        )
    with _request(app, {"notes": "a"}) as ctx:
        replay = idempotency.begin(store, "user:u1", ctx.request, LEASE)
    assert isinstance(replay, Response) and replay.status_code == 201 and replay.get_json() == {"id": "f1"}
    assert replay.headers["Location"] == "/v1/follow-ups/f1" and replay.headers["Idempotent-Replayed"] == "true"
    assert "X-Request-Id" not in replay.headers
    with _request(app, {"notes": "b"}) as ctx, pytest.raises(ApiProblem) as reused:
        idempotency.begin(store, "user:u1", ctx.request, LEASE)
    assert reused.value.status == 422 and "'k-1'" in reused.value.detail
    with _request(app, {"notes": "a"}) as ctx:  # another principal's key space
        assert isinstance(idempotency.begin(store, "user:u2", ctx.request, LEASE), idempotency.Claim)
    with _request(app, {"notes": "a"}, key="") as ctx:
        assert idempotency.begin(store, "user:u1", ctx.request, LEASE) is None
    with _request(app, {}, key="x" * 256) as ctx, pytest.raises(ApiProblem) as bad:
        idempotency.begin(store, "user:u1", ctx.request, LEASE)
    assert bad.value.status == 400 and bad.value.errors[0]["field"] == "Idempotency-Key"


def test_server_errors_release_the_key_and_abandoned_claims_are_taken_over(
    store: KvStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Flask(__name__)
    with _request(app, {"n": 1}) as ctx:
        claim = idempotency.begin(store, "user:u1", ctx.request, LEASE)
        idempotency.finish(store, claim, Response("{}", status=503))  # type: ignore[arg-type]
    with _request(app, {"n": 1}) as ctx:
        again = idempotency.begin(store, "user:u1", ctx.request, 0.5)  # executes again; its worker dies
        assert isinstance(again, idempotency.Claim)
    with _request(app, {"n": 1}) as ctx, pytest.raises(ApiProblem) as busy:
        idempotency.begin(store, "user:u1", ctx.request, LEASE)  # within the dead worker's lease
    assert busy.value.status == 409
    time.sleep(0.6)
    with _request(app, {"n": 1}) as ctx:
        assert isinstance(idempotency.begin(store, "user:u1", ctx.request, LEASE), idempotency.Claim)


def test_the_lease_of_a_pending_key_is_the_call_deadline_plus_a_margin() -> None:
    app = Flask(__name__)
    with _request(app, {"n": 1}) as ctx:
        assert idempotency.lease_for(ctx.request, 10.0, 300.0) == 10.0 + idempotency.LEASE_MARGIN_SECONDS
    with app.test_request_context("/v1/imports", method="POST", data=b"a,b", content_type="text/csv") as ctx:
        assert idempotency.lease_for(ctx.request, 10.0, 300.0) == 300.0 + idempotency.LEASE_MARGIN_SECONDS


def test_openapi_documents_the_header_on_unsafe_operations() -> None:
    paths = {
        "/v1/x": {"get": {}, "post": {}, "delete": {"parameters": []}},
        "/v1/auth/login": {"post": {"security": []}},
    }
    idempotency.document(paths)
    assert paths["/v1/x"]["post"]["parameters"][0]["name"] == "Idempotency-Key"
    assert paths["/v1/x"]["delete"]["parameters"][0]["name"] == "Idempotency-Key"
    assert "parameters" not in paths["/v1/x"]["get"] and "parameters" not in paths["/v1/auth/login"]["post"]
    documented = {"/v1/y": {"post": {"responses": {"201": {"description": "created"}}}}}
    idempotency.document(documented)
    responses = documented["/v1/y"]["post"]["responses"]
    assert responses["201"]["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"]
    assert "IDEMPOTENCY_KEY_IN_USE" in responses["409"]["description"]
    assert "IDEMPOTENCY_KEY_REUSED" in responses["422"]["description"]


def test_the_key_goes_on_to_the_services_numbered_per_method() -> None:
    app = Flask(__name__)
    create, update = object(), object()
    with _request(app, {"n": 1}):
        assert clients.idempotency_metadata(create) == []  # no key, nothing forwarded
        g.idempotency = idempotency.Claim("scoped", "fingerprint", 1)
        sent = [("idempotency-request", "fingerprint")]
        assert clients.idempotency_metadata(create) == [("idempotency-key", "scoped.1"), *sent]
        assert clients.idempotency_metadata(update) == [("idempotency-key", "scoped.1"), *sent]
        assert clients.idempotency_metadata(create) == [("idempotency-key", "scoped.2"), *sent]
