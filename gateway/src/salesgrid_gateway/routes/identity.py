"""/v1/org-units, /v1/users, /v1/roles, /v1/api-keys, /v1/audit-events, /v1/login-protection."""

from __future__ import annotations

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_gateway.rest.schema import hint
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Identity", "identity_addr", tag="identity")
hint("salesgrid.identity.v1.Permission", scope={"enum": ["own", "team", "subtree", "all"]})
hint(
    "salesgrid.identity.v1.CreateUserRequest",
    password_change_required={
        "default": True,
        "description": "the user must change the initial password at first login",
    },
)
hint(
    "salesgrid.identity.v1.CreateApiKeyRequest",
    rate_limit_per_minute={
        "description": "requests per minute for this key across the gateway (0: the default for partner keys)"
    },
)

ROUTES = [
    api.post(
        "/v1/org-units",
        "CreateOrgUnit",
        "Create an org unit (time_zone and currency default to the parent's)",
        status=201,
        required=("name",),
    ),
    api.get("/v1/org-units", "ListOrgUnits", "List org units in scope", items="units"),
    api.get("/v1/org-units/{unit_id}", "GetOrgUnit", "Read an org unit"),
    api.patch("/v1/org-units/{unit_id}", "UpdateOrgUnit", "Update an org unit (If-Match)", if_match="required"),
    api.post(
        "/v1/org-units/{unit_id}/move", "MoveOrgUnit", "Move a unit under a new parent", required=("new_parent_id",)
    ),
    api.post("/v1/org-units/{unit_id}/deactivate", "DeactivateOrgUnit", "Deactivate a unit", body=""),
    api.post(
        "/v1/users",
        "CreateUser",
        "Create a user",
        status=201,
        required=("login", "display_name", "unit_id", "roles", "initial_password"),
    ),
    api.get(
        "/v1/users",
        "ListUsers",
        "List users in scope",
        items="users",
        rename={"q": "query"},
        audit=("users.list", "users"),
    ),  # personal data of staff
    api.get("/v1/users/{user_id}", "GetUser", "Read a user"),
    api.patch("/v1/users/{user_id}", "UpdateUser", "Update a user (If-Match)", if_match="required"),
    api.post("/v1/users/{user_id}/deactivate", "DeactivateUser", "Deactivate a user; sessions revoked", body=""),
    api.post("/v1/users/{user_id}/unlock", "UnlockUser", "Unlock a locked-out user", body=""),
    api.get(
        "/v1/login-protection",
        "GetLoginProtection",
        "Login limits, locked or failing accounts in scope, and throttled addresses (company-wide user administrators)",
    ),
    api.post(
        "/v1/login-protection/addresses/{address}/clear",
        "ClearAddressThrottle",
        "Forget an address's recorded login failures (ends its throttle)",
        body="",
    ),
    api.get("/v1/roles", "ListRoles", "List roles", items="roles"),
    api.post("/v1/roles", "CreateRole", "Create a custom role", status=201, required=("code", "name", "permissions")),
    api.post(
        "/v1/api-keys",
        "CreateApiKey",
        "Create a partner API key (secret shown once)",
        status=201,
        required=("name", "unit_id", "permissions"),
    ),
    api.get("/v1/api-keys", "ListApiKeys", "List API keys", items="keys"),
    api.post("/v1/api-keys/{key_id}/revoke", "RevokeApiKey", "Revoke an API key", body=""),
    api.get(
        "/v1/audit-events",
        "ListAuditEvents",
        "Query the audit trail (admins and auditors)",
        items="events",
        audit=("audit.read", "audit_events"),
    ),
]
