"""Idempotency records and rate-limit counters in the shared store, on NATS key-value (as in
production) and on the per-process stand-in: several limiters stand for several gateway workers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from salesgrid_gateway import clients, idempotency, web
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.ratelimit import SharedRateLimiter, batch_size
from salesgrid_gateway.shared_store import KvStore, MemoryStore, NatsKvStore

BUCKETS = {idempotency.BUCKET: idempotency.TTL_SECONDS, "SALESGRID_RATELIMIT": 180}


@pytest.fixture(params=["nats", "memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[KvStore]:
    if request.param == "memory":
        yield MemoryStore(BUCKETS)
    else:
        nats_store = NatsKvStore(request.getfixturevalue("nats_url"), BUCKETS)
        yield nats_store
        await nats_store.close()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_batches_shrink_and_never_pass_the_limit() -> None:
    assert batch_size(600, 0) == 12 and batch_size(600, 590) == 1 and batch_size(600, 600) == 0
    assert batch_size(3, 0) == 1 and batch_size(3, 3) == 0


async def test_workers_together_never_serve_more_than_the_limit(store: KvStore) -> None:
    clock = Clock(1_000_040.0)  # 40 s left in the window
    workers = [SharedRateLimiter(store, clock) for _ in range(3)]
    served, refused = 0, []
    for i in range(150):
        try:
            headers = await workers[i % 3].hit("user:u1", 100)
            served += 1
            assert headers["RateLimit-Policy"] == "100;w=60"
        except ApiProblem as problem:
            refused.append(problem)
    assert served == 100  # round robin: every reserved request is eventually used
    assert refused[0].status == 429 and refused[0].headers["Retry-After"] == "40"
    assert "remaining=0" in refused[0].headers["RateLimit"]
    # Another principal has its own counter; the next window starts afresh.
    assert await workers[0].hit("user:u2", 100)
    clock.now += 40
    assert "limit=100" in (await workers[1].hit("user:u1", 100))["RateLimit"]


async def test_most_requests_need_no_round_trip(store: KvStore) -> None:
    calls = []

    class Counting:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            async def call(*args):  # type: ignore[no-untyped-def]
                calls.append(name)
                return await getattr(store, name)(*args)

            return call

    limiter = SharedRateLimiter(Counting(), Clock(2_000_000.0))  # type: ignore[arg-type]
    for _ in range(60):
        await limiter.hit("api_key:k1", 600)
    assert len(calls) == 1 + 4 * 2, calls  # 5 batches of 12: create, then get + update each


LEASE = 15.0


async def _request(
    body: dict[str, Any] | bytes,
    key: str = "k-1",
    method: str = "POST",
    path: str = "/v1/follow-ups",
    content_type: str = "application/json",
) -> web.Request:
    """The request as the gateway reads it, its body read."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(raw)).encode())]
    if key:
        headers.append((b"idempotency-key", key.encode()))
    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": headers}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    request = web.Request(scope, receive, 1 << 20)
    await request.read_body()
    return request


async def test_idempotency_key_replays_refuses_reuse_and_serialises(store: KvStore) -> None:
    claim = await idempotency.begin(store, "user:u1", await _request({"notes": "a"}), LEASE)
    assert isinstance(claim, idempotency.Claim)
    with pytest.raises(ApiProblem) as busy:  # a concurrent retry while the first runs
        await idempotency.begin(store, "user:u1", await _request({"notes": "a"}), LEASE)
    assert busy.value.status == 409 and busy.value.headers["Retry-After"] == "1"
    await idempotency.finish(
        store,
        claim,
        web.json_response({"id": "f1"}, 201, {"Location": "/v1/follow-ups/f1", "X-Request-Id": "r1"}),
    )
    replay = await idempotency.begin(store, "user:u1", await _request({"notes": "a"}), LEASE)
    assert isinstance(replay, web.Response) and replay.status_code == 201
    assert json.loads(replay.get_data()) == {"id": "f1"} and replay.mimetype == "application/json"
    assert replay.headers["Location"] == "/v1/follow-ups/f1" and replay.headers["Idempotent-Replayed"] == "true"
    assert "X-Request-Id" not in replay.headers
    with pytest.raises(ApiProblem) as reused:
        await idempotency.begin(store, "user:u1", await _request({"notes": "b"}), LEASE)
    assert reused.value.status == 422 and "'k-1'" in reused.value.detail
    # another principal's key space
    assert isinstance(
        await idempotency.begin(store, "user:u2", await _request({"notes": "a"}), LEASE), idempotency.Claim
    )
    assert await idempotency.begin(store, "user:u1", await _request({"notes": "a"}, key=""), LEASE) is None
    with pytest.raises(ApiProblem) as bad:
        await idempotency.begin(store, "user:u1", await _request({}, key="x" * 256), LEASE)
    assert bad.value.status == 400 and bad.value.errors[0]["field"] == "Idempotency-Key"


async def test_server_errors_release_the_key_and_abandoned_claims_are_taken_over(store: KvStore) -> None:
    claim = await idempotency.begin(store, "user:u1", await _request({"n": 1}), LEASE)
    assert isinstance(claim, idempotency.Claim)
    await idempotency.finish(store, claim, web.Response("{}", status=503))
    again = await idempotency.begin(store, "user:u1", await _request({"n": 1}), 0.5)  # executes again; its worker dies
    assert isinstance(again, idempotency.Claim)
    with pytest.raises(ApiProblem) as busy:
        await idempotency.begin(store, "user:u1", await _request({"n": 1}), LEASE)  # within the dead worker's lease
    assert busy.value.status == 409
    await asyncio.sleep(0.6)
    assert isinstance(await idempotency.begin(store, "user:u1", await _request({"n": 1}), LEASE), idempotency.Claim)


async def test_the_lease_of_a_pending_key_is_the_call_deadline_plus_a_margin() -> None:
    json_request = await _request({"n": 1})
    assert idempotency.lease_for(json_request, 10.0, 300.0) == 10.0 + idempotency.LEASE_MARGIN_SECONDS
    upload = await _request(b"a,b", path="/v1/imports", content_type="text/csv")
    assert idempotency.lease_for(upload, 10.0, 300.0) == 300.0 + idempotency.LEASE_MARGIN_SECONDS


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


async def test_the_key_goes_on_to_the_services_numbered_per_method() -> None:
    create, update = object(), object()
    current = web.Current(await _request({"n": 1}), None)
    token = web.bind(current)
    try:
        assert clients.idempotency_metadata(create) == []  # no key, nothing forwarded
        current.g.idempotency = idempotency.Claim("scoped", "fingerprint", 1)
        sent = [("idempotency-request", "fingerprint")]
        assert clients.idempotency_metadata(create) == [("idempotency-key", "scoped.1"), *sent]
        assert clients.idempotency_metadata(update) == [("idempotency-key", "scoped.1"), *sent]
        assert clients.idempotency_metadata(create) == [("idempotency-key", "scoped.2"), *sent]
    finally:
        web.unbind(token)
