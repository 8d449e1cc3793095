"""/v1/auth/*, /v1/me, /v1/org-units, /v1/users, /v1/roles, /v1/api-keys (+ a partner key's own
rate limit), /v1/audit-events, /v1/login-protection: the identity service."""

from __future__ import annotations

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_gateway.rest.table import Service

api = Service(pb, "Identity", "identity_addr", tag="identity")
auth = Service(pb, "Auth", "identity_addr", tag="auth")
PUBLIC = {"public": True, "anonymous_call": True}  # no credentials: the RPC is called without a token
U, K = "/v1/org-units/{unit_id}", "/v1/users/{user_id}"
# fmt: off
ROUTES = [
    auth.post("/v1/auth/login", "Login", "Log in with login and password", **PUBLIC),
    auth.post("/v1/auth/refresh", "Refresh", "Exchange a refresh token (rotated) for new tokens", **PUBLIC),
    auth.post("/v1/auth/logout", "Logout", "Revoke a refresh token and its session", status=204, **PUBLIC),
    api.post("/v1/auth/password", "ChangePassword", "Change one's password", status=204, tag="auth"),
    api.get("/v1/me", "GetMe", "The caller: user or API key, unit, roles and effective permissions", tag="auth"),
    api.post("/v1/org-units", "CreateOrgUnit", "Create an org unit (time_zone and currency default to the parent's)", status=201),
    api.get("/v1/org-units", "ListOrgUnits", "List org units in scope", items="units"),
    api.get(U, "GetOrgUnit", "Read an org unit"),
    api.patch(U, "UpdateOrgUnit", "Update an org unit (If-Match)", if_match="required"),
    api.post(U + "/move", "MoveOrgUnit", "Move a unit under a new parent"),
    api.post(U + "/deactivate", "DeactivateOrgUnit", "Deactivate a unit", body=""),
    api.post("/v1/users", "CreateUser", "Create a user", status=201),
    api.get("/v1/users", "ListUsers", "List users in scope", items="users", rename={"q": "query"}, audit=("users.list", "users")),  # personal data of staff
    api.get(K, "GetUser", "Read a user"),
    api.patch(K, "UpdateUser", "Update a user (If-Match)", if_match="required"),
    api.post(K + "/deactivate", "DeactivateUser", "Deactivate a user; sessions revoked", body=""),
    api.post(K + "/unlock", "UnlockUser", "Unlock a locked-out user", body=""),
    api.get("/v1/login-protection", "GetLoginProtection", "Login limits, locked or failing accounts in scope, and throttled addresses (company-wide user administrators)"),
    api.post("/v1/login-protection/addresses/{address}/clear", "ClearAddressThrottle", "Forget an address's recorded login failures (ends its throttle)", body=""),
    api.get("/v1/roles", "ListRoles", "List roles", items="roles"),
    api.post("/v1/roles", "CreateRole", "Create a custom role", status=201),
    api.post("/v1/api-keys", "CreateApiKey", "Create a partner API key (secret shown once)", status=201),
    api.get("/v1/api-keys", "ListApiKeys", "List API keys", items="keys"),
    api.post("/v1/api-keys/{key_id}/revoke", "RevokeApiKey", "Revoke an API key", body=""),
    api.put("/v1/api-keys/{key_id}/rate-limit", "SetApiKeyRateLimit", "Set a partner key's own rate limit per minute (0: the gateway's default for keys); gateways apply it within a minute (their cached token exchange of the key)"),
    api.get("/v1/audit-events", "ListAuditEvents", "Query the audit trail (admins and auditors)", items="events", audit=("audit.read", "audit_events")),
]
# fmt: on
