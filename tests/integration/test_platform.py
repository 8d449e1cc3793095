"""End to end through the gateway on the real platform: login, /v1/me, problem+json errors,
a user created in identity arriving in every other service, and no event lost or duplicated
when identity is killed -9 between its commit and the relay's publish."""

from __future__ import annotations

import sqlite3
import time

import grpc
import httpx
import pytest
from salesgrid.common.v1 import directory_pb2, directory_pb2_grpc
from salesgrid_dev.api import auth, poll
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, SERVICES, Platform

PASSWORD = "Field-Sales-2026"


def root_unit(api: httpx.Client, token: str) -> dict:  # type: ignore[type-arg]
    units = api.get("/v1/org-units", headers=auth(token)).json()["items"]
    return next(u for u in units if not u["parent_id"])


def create_user(api: httpx.Client, token: str, login: str) -> dict:  # type: ignore[type-arg]
    reply = api.post(
        "/v1/users",
        headers=auth(token),
        json={
            "login": login,
            "display_name": login.title(),
            "unit_id": root_unit(api, token)["id"],
            "roles": ["rep"],
            "initial_password": PASSWORD,
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def directory_user(platform: Platform, service: str, token: str, user_id: str) -> directory_pb2.DirectoryUser | None:
    with grpc.insecure_channel(f"127.0.0.1:{platform.ports.grpc[service]}") as channel:
        try:
            return directory_pb2_grpc.DirectoryStub(channel).GetDirectoryUser(
                directory_pb2.GetDirectoryUserRequest(user_id=user_id),
                metadata=[("authorization", f"Bearer {token}")],
                timeout=5,
            )
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error
            return None


def test_login_and_me(api: httpx.Client, admin_token: str) -> None:
    me = api.get("/v1/me", headers=auth(admin_token))
    assert me.status_code == 200 and me.headers["X-Request-Id"]
    body = me.json()
    assert body["login"] == "admin" and body["kind"] == "user"
    assert {"name": "users:create", "scope": "all"} in body["permissions"]


@pytest.mark.parametrize(
    "request_kwargs, status, needle",
    [
        ({"json": {"login": "admin", "password": "wrong-password"}}, 401, "invalid login"),
        ({"json": {"login": "admin"}}, 400, "password"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
    ],
)
def test_bad_login_input_is_a_problem(api: httpx.Client, request_kwargs: dict, status: int, needle: str) -> None:
    reply = api.post("/v1/auth/login", **request_kwargs)
    assert reply.status_code == status
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert needle in reply.json()["detail"] and "Traceback" not in reply.text


def test_expired_or_tampered_tokens_are_refused(api: httpx.Client, admin_token: str) -> None:
    head, payload, signature = admin_token.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}AAAA"
    for token in (tampered, "not-a-token"):
        reply = api.get("/v1/me", headers=auth(token))
        assert reply.status_code == 401 and reply.headers["Content-Type"] == "application/problem+json"
    assert api.get("/v1/me").status_code == 401


def test_created_user_arrives_in_every_service(platform: Platform, api: httpx.Client, admin_token: str) -> None:
    user = create_user(api, admin_token, "zhou.xun")
    for service in SERVICES[1:]:
        found = poll(lambda s=service: directory_user(platform, s, admin_token, user["id"]))
        assert found.login == "zhou.xun" and found.org_path == user["org_path"]
    # A rep logs in with the password set by the admin and sees himself.
    token = api.post("/v1/auth/login", json={"login": "zhou.xun", "password": PASSWORD}).json()["access_token"]
    assert api.get("/v1/me", headers=auth(token)).json()["id"] == user["id"]


def inbox_count(platform: Platform, service: str, event_type: str) -> int:
    with sqlite3.connect(platform.data_dir / "db" / f"{service}.db") as db:
        return int(
            db.execute(
                "SELECT count(*) FROM inbox WHERE consumer = ? AND event_type = ?", (f"{service}-directory", event_type)
            ).fetchone()[0]
        )


def test_event_survives_kill_9_between_commit_and_publish(
    platform: Platform, api: httpx.Client, admin_token: str
) -> None:
    before = inbox_count(platform, "customers", "salesgrid.identity.user.created")
    # Restart identity with its relay held back, so a committed change cannot be published yet.
    platform.kill("identity", 15)
    platform.start_service("identity", SALESGRID_RELAY_ENABLED="false")
    user = create_user(api, admin_token, "crash.test")
    with sqlite3.connect(platform.data_dir / "db" / "identity.db") as db:
        pending = db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
    assert pending >= 1  # committed with the user, not yet published
    platform.kill("identity")  # SIGKILL: no chance to flush anything
    time.sleep(1.0)
    assert directory_user(platform, "customers", admin_token, user["id"]) is None
    platform.start_service("identity")  # the relay finds the row left behind and publishes it
    poll(lambda: directory_user(platform, "customers", admin_token, user["id"]))
    time.sleep(1.0)  # let any duplicate delivery show up before counting
    assert inbox_count(platform, "customers", "salesgrid.identity.user.created") == before + 1
    with sqlite3.connect(platform.data_dir / "db" / "identity.db") as db:
        assert db.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0


def test_openapi_document_and_docs(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0" and "/v1/me" in document["paths"]
    assert api.get("/docs").status_code == 200
    assert "http_requests_total" in api.get("/metrics").text


def test_first_login_forces_a_password_change(api: httpx.Client, admin_token: str) -> None:
    user = create_user(api, admin_token, "first.login")
    pair = api.post("/v1/auth/login", json={"login": "first.login", "password": PASSWORD}).json()
    assert pair["password_change_required"]
    headers = auth(pair["access_token"])
    assert api.get("/v1/me", headers=headers).json()["id"] == user["id"]
    blocked = api.get("/v1/customers", headers=headers)
    assert blocked.status_code == 403 and "password change required" in blocked.json()["detail"]
    changed = api.post(
        "/v1/auth/password", headers=headers, json={"current_password": PASSWORD, "new_password": "Chosen-By-Me-2026"}
    )
    assert changed.status_code == 204, changed.text
    renewed = api.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json()
    assert not renewed["password_change_required"]
    assert api.get("/v1/customers", headers=auth(renewed["access_token"])).status_code == 200


def test_sensitive_list_reads_are_audited(api: httpx.Client, admin_token: str) -> None:
    me = api.get("/v1/me", headers=auth(admin_token)).json()
    assert api.get("/v1/users?limit=7", headers=auth(admin_token)).status_code == 200
    assert api.get("/v1/customers?tier=key", headers=auth(admin_token)).status_code == 200

    def recorded() -> dict[str, dict]:
        # The gateway publishes the record (acknowledged before it answers); identity writes it.
        # These reads' own records, told apart by their queries: other tests list as admin too.
        trail = api.get(f"/v1/audit-events?actor_id={me['id']}&limit=50", headers=auth(admin_token)).json()["items"]
        ours = {
            entry["action"]: entry
            for entry in trail
            if (entry["action"], entry["detail"])
            in {("users.list", "/v1/users?limit=7"), ("customers.list", "/v1/customers?tier=key")}
        }
        return ours if len(ours) == 2 else {}

    actions = poll(recorded)
    assert {action: entry["source"] for action, entry in actions.items()} == {
        "users.list": "gateway",
        "customers.list": "gateway",
    }


def test_administrators_see_login_protection(api: httpx.Client, admin_token: str) -> None:
    """Failed logins from the shared address do not refuse a clean account's correct password, and
    administrators read the limits in force through the gateway."""
    for _ in range(2):
        assert (
            api.post("/v1/auth/login", json={"login": "nobody-here", "password": "wrong-password"}).status_code == 401
        )
    assert api.post("/v1/auth/login", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}).status_code == 200
    view = api.get("/v1/login-protection", headers={"Authorization": f"Bearer {admin_token}"})
    assert view.status_code == 200, view.text
    assert view.json()["limits"]["max_failures_per_account"] >= 1 and view.json()["limits"]["window_minutes"] >= 1


def test_automation_appears_in_the_audit_trail_as_its_service(api: httpx.Client, admin_token: str) -> None:
    """What a service does on its own (here pipeline publishing its stage models at start) is
    audited with the one system actor rule, `system:<service>`, never a blank "who"."""

    def published() -> list[dict]:
        return api.get(
            "/v1/audit-events", headers=auth(admin_token), params={"actor_id": "system:pipeline", "limit": 50}
        ).json()["items"]

    trail = poll(published, timeout=30)
    assert all(entry["actor_id"] == "system:pipeline" for entry in trail)
    assert any(entry["action"].startswith("pipeline.stage_model") for entry in trail), trail
