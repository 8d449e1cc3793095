"""Helpers for tests that drive the real platform through the gateway's REST API."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
from salesgrid.common.v1 import directory_pb2, directory_pb2_grpc

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


def person(api: httpx.Client, admin: str, unit_id: str, login: str, role: str, manager_id: str = "") -> tuple[str, str]:
    """(user id, access token) of a new user in `unit_id`, whose password the admin set as
    permanent (no forced change at first login)."""
    created = api.post(
        "/v1/users",
        headers=auth(admin),
        json={
            "login": login,
            "display_name": login,
            "unit_id": unit_id,
            "roles": [role],
            "initial_password": PASSWORD,
            "manager_id": manager_id,
            "password_change_required": False,
        },
    )
    assert created.status_code == 201, created.text
    login_reply = api.post("/v1/auth/login", json={"login": login, "password": PASSWORD})
    assert login_reply.status_code == 200, login_reply.text
    return str(created.json()["id"]), str(login_reply.json()["access_token"])


@dataclass(frozen=True)
class SalesBranch:
    """A branch with a team under it, its manager in the branch and a rep in the team who
    reports to him (ids and access tokens)."""

    branch: dict[str, Any]
    team: dict[str, Any]
    manager_id: str
    manager_token: str
    rep_id: str
    rep_token: str


def sales_branch(
    api: httpx.Client, admin: str, tag: str, *, branch_name: str, team_name: str, code: str, login: str
) -> SalesBranch:
    """A new SalesBranch under the root unit, on the Shanghai calendar in CNY: units "<name> <tag>"
    coded <code><tag> and <code>t<tag>, people <login>-mgr-<tag> and <login>-rep-<tag>."""
    branch = org_unit(
        api,
        admin,
        root_unit(api, admin)["id"],
        f"{branch_name} {tag}",
        code=f"{code}{tag}",
        kind="branch",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    team = org_unit(
        api,
        admin,
        branch["id"],
        f"{team_name} {tag}",
        code=f"{code}t{tag}",
        kind="team",
        time_zone="Asia/Shanghai",
        currency="CNY",
    )
    manager_id, manager_token = person(api, admin, branch["id"], f"{login}-mgr-{tag}", "manager")
    rep_id, rep_token = person(api, admin, team["id"], f"{login}-rep-{tag}", "rep", manager_id)
    return SalesBranch(branch, team, manager_id, manager_token, rep_id, rep_token)


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


def money(amount: str, currency: str = "CNY") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def document_fact(code: str) -> dict[str, Any]:
    return {"code": code, "document": {"document_id": f"doc-{code}", "file_name": f"{code}.pdf"}}


def gate_facts(
    budget: str = "900000", expected: str = "600000", winning: str = "580000"
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The facts every gate of the default stage model requires, stage by stage, in order."""
    return [
        (
            "approval",
            [
                {"code": "budget", "amount": money(budget)},
                {"code": "our_expected_amount", "amount": money(expected)},
                {"code": "latest_expected_bid_date", "date": "2027-02-28"},
                *(
                    {"code": f"{kind}_organisations", "organisations": {"names": [f"{kind} organisation"]}}
                    for kind in ("design", "decision", "user")
                ),
                {
                    "code": "decision_chain_visits",
                    "visits": {"visits": [{"activity_id": f"visit-{n}", "kind": "visit"} for n in range(3)]},
                },
            ],
        ),
        (
            "formal_communication",
            [
                {"code": "expected_bid_date", "date": "2027-02-15"},
                {"code": "expected_winning_amount", "amount": money(winning)},
            ],
        ),
        (
            "bidding",
            [
                document_fact("tender_document"),
                document_fact("bid_document"),
                {"code": "publication_date", "date": "2027-01-20"},
                {"code": "response_date", "date": "2027-02-15"},
            ],
        ),
        ("result", []),
    ]


WIN_FACTS = [document_fact("award_notice"), document_fact("bid_opening_documents")]


def replicated(
    platform: Any, token: str, user_ids: list[str], timeout: float = 20.0, service: str = "contracts"
) -> None:
    """Waits until the service's replica of identity's directory holds every user (approval routing
    walks the management chain there)."""
    deadline = time.monotonic() + timeout
    pending = set(user_ids)
    with grpc.insecure_channel(f"127.0.0.1:{platform.ports.grpc[service]}") as channel:
        directory = directory_pb2_grpc.DirectoryStub(channel)
        while pending and time.monotonic() < deadline:
            for user_id in sorted(pending):
                try:
                    directory.GetDirectoryUser(
                        directory_pb2.GetDirectoryUserRequest(user_id=user_id),
                        metadata=[("authorization", f"Bearer {token}")],
                        timeout=5,
                    )
                    pending.discard(user_id)
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.NOT_FOUND, error
            time.sleep(0.1)
    assert not pending, f"users not replicated to {service}: {pending}"
