"""Idempotency-Key under process kills on the real platform (issue 17): the activities service
dying between its commit and its answer (the client gets 503; on SQLite and on PostgreSQL), and
the gateway killed -9 while the service answers and then restarted; every retry with the key ends with exactly one record,
the first answer replayed. Faults are injected at an exact point by tests/integration/faulty_service.py
in a real service process."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from salesgrid_dev.api import auth, person, root_unit
from salesgrid_dev.platform import Platform
from salesgrid_dev.processes import ThrowawayPostgres, free_port, spawn_child

FAULTY = Path(__file__).with_name("faulty_service.py")


def start_faulty_activities(platform: Platform, fault: str, **overrides: str) -> None:
    stop_activities(platform)
    platform.processes["activities"] = spawn_child(
        [sys.executable, str(FAULTY), "activities"],
        env={**platform.service_env("activities", **overrides), "SALESGRID_TEST_FAULT": fault},
        stdout=platform._log("activities-faulty"),
        stderr=subprocess.STDOUT,
    )
    platform.wait_serving("activities")


def stop_activities(platform: Platform) -> None:
    process = platform.processes.get("activities")
    if process is not None:
        if process.poll() is None:
            platform.kill("activities", signal.SIGTERM)
        else:
            platform.processes.pop("activities")


def restore_activities(platform: Platform) -> None:
    stop_activities(platform)
    platform.start_service("activities")


def listed(client: httpx.Client, headers: dict[str, str], notes: str) -> list[str]:
    """The caller's follow-ups with these notes, through the API (any database)."""
    reply = client.get(f"/v1/follow-ups?customer_id=cust-{notes}", headers=headers)
    assert reply.status_code == 200, reply.text
    return [item["id"] for item in reply.json()["items"] if item["notes"] == notes]


def follow_ups(platform: Platform, notes: str) -> list[str]:
    with sqlite3.connect(platform.data_dir / "db" / "activities.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM follow_ups WHERE notes = ?", (notes,))]


def follow_ups(platform: Platform, notes: str) -> list[str]:
    """The follow-ups with these notes in the embedded platform's activities database (SQLite),
    read while the service may be down."""
    with sqlite3.connect(platform.data_dir / "db" / "activities.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM follow_ups WHERE notes = ?", (notes,))]


def body(notes: str) -> dict[str, str]:
    return {
        "kind": "call",
        "occurred_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "notes": notes,
        "customer_id": f"cust-{notes}",
    }


def retry_until_answered(
    client: httpx.Client, headers: dict[str, str], json: dict[str, str], within: float
) -> httpx.Response:
    """Retry as a client does: after a 5xx or a 409 (key in use), wait Retry-After."""
    deadline = time.monotonic() + within
    while True:
        try:
            reply = client.post("/v1/follow-ups", headers=headers, json=json)
            if reply.status_code not in (409, 502, 503, 504):
                return reply
            assert reply.status_code != 409 or reply.json()["type"].endswith("idempotency-key-in-use"), reply.text
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "no answer in time"
        time.sleep(0.5)


def post_until_the_service_dies(
    platform: Platform, client: httpx.Client, headers: dict[str, str], json: dict[str, str]
) -> None:
    """POST until the request reaches the faulty service, which dies in it: the client gets a
    5xx each time (the gateway's channel may still be reconnecting for the first tries)."""
    process = platform.processes["activities"]
    deadline = time.monotonic() + 15
    while process.poll() is None:
        reply = client.post("/v1/follow-ups", headers=headers, json=json)
        assert reply.status_code in (502, 503, 504), reply.text
        assert time.monotonic() < deadline, "the request never reached the service"
        time.sleep(0.2)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_service_dying_between_commit_and_answer_never_executes_a_retry_twice(
    database: str, request: pytest.FixtureRequest, platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    overrides: dict[str, str] = {}
    if database == "postgresql":  # activities on its own PostgreSQL database for this test
        cluster: ThrowawayPostgres = request.getfixturevalue("postgres")
        overrides["SALESGRID_DATABASE_URL"] = cluster.create_database(f"crash_{uuid.uuid4().hex[:8]}")
        migrated = subprocess.run(
            [sys.executable, "-m", "salesgrid_activities", "migrate"],
            capture_output=True,
            env=platform.service_env("activities", **overrides),
        )
        assert migrated.returncode == 0, migrated.stderr.decode()[-2000:]
    suffix = uuid.uuid4().hex[:8]
    _, token = person(api, admin_token, root_unit(api, admin_token)["id"], f"crash.{suffix}", "rep")
    headers = {**auth(token), "Idempotency-Key": f"receipt-{suffix}"}
    notes = f"crash-{suffix}"
    request_body = body(notes)  # a retry sends the same request
    try:
        # 1. Dies after the use case's commit, before the call's transaction commits: nothing stays.
        start_faulty_activities(platform, "exit-before-commit", **overrides)
        post_until_the_service_dies(platform, api, headers, request_body)
        # 2. The retry executes; the service dies right after committing the write with its key and
        # answer: the client gets 503 for a committed write (the case of the issue).
        start_faulty_activities(platform, "exit-after-commit", **overrides)
        assert listed(api, auth(token), notes) == []
        post_until_the_service_dies(platform, api, headers, request_body)
        stop_activities(platform)
        platform.start_service("activities", **overrides)
        committed = listed(api, auth(token), notes)
        assert len(committed) == 1
        # 3. The key with another request is refused by the service (the gateway kept nothing after
        # the 503), and that refusal does not take the key; the retry gets the committed answer.
        other = retry_until_answered(api, headers, {**request_body, "notes": "another"}, 10)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key", other.text
        reply = retry_until_answered(api, headers, request_body, 10)
        assert reply.status_code == 201, reply.text
        assert reply.json()["id"] == committed[0]
        assert reply.headers["Idempotent-Replayed"] == "true"  # the service's stored answer
        again = api.post("/v1/follow-ups", headers=headers, json=request_body)
        assert again.status_code == 201 and again.json() == reply.json()
        assert again.headers["Idempotent-Replayed"] == "true"  # now from the gateway's own record
        assert listed(api, auth(token), notes) == committed
    finally:
        restore_activities(platform)


def kill_gateway(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # gunicorn's master and its workers
    process.wait(15)


def test_a_gateway_killed_mid_request_and_restarted_replays_the_committed_answer(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    _, token = person(api, admin_token, root_unit(api, admin_token)["id"], f"gwkill.{suffix}", "rep")
    headers = {**auth(token), "Idempotency-Key": f"receipt-{suffix}"}
    notes = f"gwkill-{suffix}"
    request = body(notes)
    port = free_port()
    settings = {"SALESGRID_GRPC_TIMEOUT_SECONDS": "8"}  # a pending key's lease: 8 s + 5 s
    gateway = platform.run_gateway(port, 2, **settings)
    answers: list[httpx.Response | Exception] = []
    try:
        start_faulty_activities(platform, "delay-after-commit:5")  # within the 8 s deadline
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            def first() -> None:
                try:
                    answers.append(client.post("/v1/follow-ups", headers=headers, json=request))
                except httpx.HTTPError as error:
                    answers.append(error)

            sender = threading.Thread(target=first)
            sender.start()
            deadline = time.monotonic() + 10
            while not follow_ups(platform, notes):  # committed in the service, answer on its way
                assert time.monotonic() < deadline
                time.sleep(0.05)
            kill_gateway(gateway)
            sender.join(10)
            assert len(answers) == 1 and isinstance(answers[0], httpx.TransportError), answers
            committed = follow_ups(platform, notes)
            assert len(committed) == 1

            gateway = platform.run_gateway(port, 2, **settings)  # the same port, the same key store
            started = time.monotonic()
            reply = retry_until_answered(client, headers, request, 25)
            assert reply.status_code == 201, reply.text
            assert reply.json()["id"] == committed[0]  # the service's stored answer
            assert reply.headers["Idempotent-Replayed"] == "true"
            assert time.monotonic() - started < 20  # the dead worker's lease (13 s) ran out
            assert follow_ups(platform, notes) == committed

            # A completed key survives a gateway restart: replayed from the shared store.
            kill_gateway(gateway)
            gateway = platform.run_gateway(port, 1, **settings)
            again = client.post("/v1/follow-ups", headers=headers, json=request)
            assert again.status_code == 201 and again.json() == reply.json()
            assert again.headers["Idempotent-Replayed"] == "true"
            assert follow_ups(platform, notes) == committed
    finally:
        if gateway.poll() is None:
            kill_gateway(gateway)
        restore_activities(platform)
