"""Helpers for tests that drive the real platform through the gateway's REST API."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

PASSWORD = "Field-Sales-2026"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def poll(check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.2) -> Any:
    """Events between services are asynchronous: poll until `check` returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, "condition not met in time"
            return result
        time.sleep(interval)


def root_unit(api: httpx.Client, admin: str) -> dict[str, Any]:
    units = api.get("/v1/org-units", headers=auth(admin)).json()["items"]
    return next(u for u in units if not u["parent_id"])


def org_unit(api: httpx.Client, admin: str, parent_id: str, name: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/v1/org-units", headers=auth(admin), json={"parent_id": parent_id, "name": name, **fields})
    assert created.status_code == 201, created.text
    return dict(created.json())


def person(api: httpx.Client, admin: str, unit_id: str, login: str, role: str,
           manager_id: str = "") -> tuple[str, str]:
    """(user id, access token) of a new user in `unit_id`, whose password the admin set as
    permanent (no forced change at first login)."""
    created = api.post("/v1/users", headers=auth(admin), json={
        "login": login, "display_name": login, "unit_id": unit_id, "roles": [role], "initial_password": PASSWORD,
        "manager_id": manager_id, "password_change_required": False})
    assert created.status_code == 201, created.text
    login_reply = api.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert login_reply.status_code == 200, login_reply.text
    return str(created.json()["id"]), str(login_reply.json()["access_token"])


def created(reply: httpx.Response, status: int = 201) -> Any:
    """The JSON body of a successful create (or of the given status)."""
    assert reply.status_code == status, reply.text
    return reply.json()


def problem(reply: httpx.Response, status: int, field: str | None = None) -> None:
    """An RFC 9457 problem with this status (naming `field` among its errors, when given)."""
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"] == "application/problem+json"
    if field is not None:
        assert field in [e["field"] for e in reply.json().get("errors", [])], reply.text
