"""The permission matrix through the gateway on the real platform: every built-in role, and API
keys of every scope, against customers that are the viewer's own, in his team, in another team
of the branch, in another branch, in another region, or shared with him — read and update, each
allow and each deny asserted. Expectations come from the scope definitions, not from the code."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import httpx

PASSWORD = "Field-Sales-2026"
ROLE_SCOPES = {  # role → (customers:read, customers:update) per identity's built-in roles
    "admin": ("all", "all"),
    "director": ("all", "all"),
    "regional_head": ("subtree", "subtree"),
    "manager": ("subtree", "subtree"),
    "supervisor": ("team", "team"),
    "rep": ("own", "own"),
    "finance": ("all", None),
    "auditor": ("all", None),
}
ROLE_UNIT = {
    "rep": "T1",
    "supervisor": "T1",
    "manager": "B1",
    "regional_head": "R1",
    "director": "root",
    "admin": "root",
    "finance": "root",
    "auditor": "root",
}
CAN_CREATE = {"admin", "director", "regional_head", "manager", "supervisor", "rep"}


@dataclass
class Record:
    id: str
    owner_id: str
    org_path: str


def allowed(scope: str | None, viewer_id: str, viewer_path: str, record: Record, shared: bool, write: bool) -> bool:
    if scope is None:
        return False
    if record.owner_id == viewer_id or (shared and not write):  # shared as read-only collaborator
        return True
    return (
        scope == "all"
        or (scope == "subtree" and record.org_path.startswith(viewer_path))
        or (scope == "team" and record.org_path == viewer_path)
    )


def test_permission_matrix(api: httpx.Client, admin_token: str) -> None:
    tag = uuid.uuid4().hex[:8]
    admin = {"Authorization": f"Bearer {admin_token}"}

    def post(path: str, body: dict, headers: dict) -> dict:  # type: ignore[type-arg]
        reply = api.post(path, json=body, headers=headers)
        assert reply.status_code in (200, 201), (path, reply.status_code, reply.text)
        return reply.json()

    units = api.get("/v1/org-units", headers=admin).json()["items"]
    root = next(u for u in units if not u["parent_id"])
    tree = {"root": root}
    for name, parent, kind in [
        ("R1", "root", "region"),
        ("B1", "R1", "branch"),
        ("T1", "B1", "team"),
        ("T2", "B1", "team"),
        ("B2", "R1", "branch"),
        ("T3", "B2", "team"),
        ("R2", "root", "region"),
        ("B3", "R2", "branch"),
        ("T4", "B3", "team"),
    ]:
        tree[name] = post(
            "/v1/org-units", {"parent_id": tree[parent]["id"], "name": f"{name}-{tag}", "kind": kind}, admin
        )

    def user(login: str, unit: str, role: str) -> tuple[str, dict]:  # type: ignore[type-arg]
        created = post(
            "/v1/users",
            {
                "login": f"{login}-{tag}",
                "display_name": login,
                "unit_id": tree[unit]["id"],
                "roles": [role],
                "initial_password": PASSWORD,
                "password_change_required": False,
            },
            admin,
        )
        token = post("/v1/auth/login", {"login": f"{login}-{tag}", "password": PASSWORD}, {})["access_token"]
        return created["id"], {"Authorization": f"Bearer {token}"}

    owners = {unit: user(f"owner-{unit.lower()}", unit, "rep") for unit in ("T1", "T2", "T3", "T4")}
    viewers = {role: user(f"v-{role}", ROLE_UNIT[role], role) for role in ROLE_SCOPES}

    def create_customer(headers: dict, label: str) -> Record:  # type: ignore[type-arg]
        body = post("/v1/customers", {"legal_name": f"矩阵{label}{tag}科技有限公司"}, headers)
        customer = body.get("customer", body)
        return Record(customer["id"], customer["owner_id"], customer["org_path"])

    records = {unit: create_customer(headers, unit) for unit, (_, headers) in owners.items()}
    own_records = {role: create_customer(viewers[role][1], f"own{role}") for role in CAN_CREATE}
    shared_records = {}
    for role, (viewer_id, _) in viewers.items():
        record = create_customer(owners["T4"][1], f"share{role}")
        deadline = time.monotonic() + 20  # the sharee must have reached customers' directory replica
        while True:
            reply = api.post(
                f"/v1/customers/{record.id}/shares",
                json={"user_id": viewer_id, "role": "collaborator"},
                headers=owners["T4"][1],
            )
            if reply.status_code in (200, 201) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert reply.status_code in (200, 201), reply.text
        shared_records[role] = record

    def attempt(headers: dict, record: Record, write: bool) -> bool:  # type: ignore[type-arg]
        if not write:
            reply = api.get(f"/v1/customers/{record.id}", headers=headers)
        else:
            version = api.get(f"/v1/customers/{record.id}", headers=admin).json()["version"]
            reply = api.patch(
                f"/v1/customers/{record.id}",
                json={"industry": "制造业"},
                headers={**headers, "If-Match": f'"{version}"'},
            )
        assert reply.status_code in (200, 403, 404), (reply.status_code, reply.text)
        if reply.status_code != 200:
            assert reply.headers["Content-Type"] == "application/problem+json"
        return reply.status_code == 200

    mismatches: list[str] = []
    checked = 0
    outcomes = {True: 0, False: 0}
    for role, (read_scope, update_scope) in ROLE_SCOPES.items():
        viewer_id, headers = viewers[role]
        viewer_path = tree[ROLE_UNIT[role]]["path"]
        cases = [(f"{unit} record", record, False) for unit, record in records.items()]
        cases.append(("shared with me", shared_records[role], True))
        if role in own_records:
            cases.append(("own record", own_records[role], False))
        for label, record, shared in cases:
            for write, scope in ((False, read_scope), (True, update_scope)):
                expected = allowed(scope, viewer_id, viewer_path, record, shared, write)
                actual = attempt(headers, record, write)
                checked += 1
                outcomes[actual] += 1
                if actual != expected:
                    mismatches.append(
                        f"{role} {'update' if write else 'read'} {label}: expected "
                        f"{'allow' if expected else 'deny'}, got {'allow' if actual else 'deny'}"
                    )

    # Partner keys of every scope, anchored at branch B1, held to exactly the same rules.
    for scope in ("own", "team", "subtree", "all"):
        key = post(
            "/v1/api-keys",
            {
                "name": f"erp-{scope}-{tag}",
                "unit_id": tree["B1"]["id"],
                "permissions": [
                    {"name": "customers:read", "scope": scope},
                    {"name": "customers:update", "scope": scope},
                ],
            },
            admin,
        )
        key_headers = {"X-API-Key": key["secret"]}
        for unit, record in records.items():
            for write in (False, True):
                expected = allowed(scope, key["key"]["id"], tree["B1"]["path"], record, False, write)
                actual = attempt(key_headers, record, write)
                checked += 1
                outcomes[actual] += 1
                if actual != expected:
                    mismatches.append(
                        f"api key ({scope}) {'update' if write else 'read'} {unit} record: expected "
                        f"{'allow' if expected else 'deny'}, got {'allow' if actual else 'deny'}"
                    )
    assert checked > 100 and outcomes[True] > 30 and outcomes[False] > 30, outcomes
    assert not mismatches, "\n".join(mismatches)
