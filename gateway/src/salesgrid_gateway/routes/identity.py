"""/v1/org-units, /v1/users, /v1/roles, /v1/api-keys, /v1/audit-events."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, from_json, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, STRINGS, OpenApi, obj, path_param, query_param
from salesgrid_gateway.routes.common import (expected_version, json_body, page, page_size, report_sensitive_read,
                                             require_fields, with_etag)

blueprint = Blueprint("identity", __name__)


def _identity() -> pb_grpc.IdentityStub:
    return stub(pb_grpc.IdentityStub, "identity_addr")


# --- org units ---------------------------------------------------------------------------------

@blueprint.post("/v1/org-units")
def create_org_unit() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "name")
    unit = call(_identity().CreateOrgUnit, from_json(pb.CreateOrgUnitRequest, body))
    return with_etag(to_json(unit), unit.version, 201)


@blueprint.get("/v1/org-units")
def list_org_units() -> Response:
    include_inactive = request.args.get("include_inactive", "false") == "true"
    units = call(_identity().ListOrgUnits, pb.ListOrgUnitsRequest(include_inactive=include_inactive))
    return jsonify(page([to_json(u) for u in units.units], ""))


@blueprint.get("/v1/org-units/<unit_id>")
def get_org_unit(unit_id: str) -> tuple[Response, int]:
    unit = call(_identity().GetOrgUnit, pb.GetOrgUnitRequest(id=unit_id))
    return with_etag(to_json(unit), unit.version)


@blueprint.patch("/v1/org-units/<unit_id>")
def update_org_unit(unit_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    if "ip_allowlist" in body:
        body["set_ip_allowlist"] = True
    unit = call(_identity().UpdateOrgUnit, from_json(pb.UpdateOrgUnitRequest, body, id=unit_id,
                                                     expected_version=version))
    return with_etag(to_json(unit), unit.version)


@blueprint.post("/v1/org-units/<unit_id>/move")
def move_org_unit(unit_id: str) -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "new_parent_id")
    unit = call(_identity().MoveOrgUnit, pb.MoveOrgUnitRequest(id=unit_id, new_parent_id=str(body["new_parent_id"])))
    return with_etag(to_json(unit), unit.version)


@blueprint.post("/v1/org-units/<unit_id>/deactivate")
def deactivate_org_unit(unit_id: str) -> tuple[Response, int]:
    unit = call(_identity().DeactivateOrgUnit, pb.DeactivateOrgUnitRequest(id=unit_id))
    return with_etag(to_json(unit), unit.version)


# --- users -------------------------------------------------------------------------------------

@blueprint.post("/v1/users")
def create_user() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "login", "display_name", "unit_id", "roles", "initial_password")
    user = call(_identity().CreateUser, from_json(pb.CreateUserRequest, body))
    return with_etag(to_json(user), user.version, 201)


@blueprint.get("/v1/users")
def list_users() -> Response:
    reply = call(_identity().ListUsers, pb.ListUsersRequest(
        unit_id=request.args.get("unit_id", ""), query=request.args.get("q", ""), page_size=page_size(),
        page_token=request.args.get("cursor", "")))
    report_sensitive_read("users.list", "users")  # personal data of staff
    return jsonify(page([to_json(u) for u in reply.users], reply.next_page_token))


@blueprint.get("/v1/users/<user_id>")
def get_user(user_id: str) -> tuple[Response, int]:
    user = call(_identity().GetUser, pb.GetUserRequest(id=user_id))
    return with_etag(to_json(user), user.version)


@blueprint.patch("/v1/users/<user_id>")
def update_user(user_id: str) -> tuple[Response, int]:
    body = json_body()
    version = expected_version(body)
    if "roles" in body:
        body["set_roles"] = True
    user = call(_identity().UpdateUser, from_json(pb.UpdateUserRequest, body, id=user_id, expected_version=version))
    return with_etag(to_json(user), user.version)


@blueprint.post("/v1/users/<user_id>/deactivate")
def deactivate_user(user_id: str) -> tuple[Response, int]:
    user = call(_identity().DeactivateUser, pb.DeactivateUserRequest(id=user_id))
    return with_etag(to_json(user), user.version)


@blueprint.post("/v1/users/<user_id>/unlock")
def unlock_user(user_id: str) -> tuple[Response, int]:
    user = call(_identity().UnlockUser, pb.UnlockUserRequest(id=user_id))
    return with_etag(to_json(user), user.version)


@blueprint.get("/v1/login-protection")
def get_login_protection() -> Response:
    return jsonify(to_json(call(_identity().GetLoginProtection, pb.GetLoginProtectionRequest())))


@blueprint.post("/v1/login-protection/addresses/<address>/clear")
def clear_address_throttle(address: str) -> Response:
    return jsonify(to_json(call(_identity().ClearAddressThrottle, pb.ClearAddressThrottleRequest(address=address))))


# --- roles, API keys, audit --------------------------------------------------------------------

@blueprint.get("/v1/roles")
def list_roles() -> Response:
    return jsonify(page([to_json(r) for r in call(_identity().ListRoles, pb.ListRolesRequest()).roles], ""))


@blueprint.post("/v1/roles")
def create_role() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "code", "name", "permissions")
    return jsonify(to_json(call(_identity().CreateRole, from_json(pb.CreateRoleRequest, body)))), 201


@blueprint.post("/v1/api-keys")
def create_api_key() -> tuple[Response, int]:
    body = json_body()
    require_fields(body, "name", "unit_id", "permissions")
    return jsonify(to_json(call(_identity().CreateApiKey, from_json(pb.CreateApiKeyRequest, body)))), 201


@blueprint.get("/v1/api-keys")
def list_api_keys() -> Response:
    return jsonify(page([to_json(k) for k in call(_identity().ListApiKeys, pb.ListApiKeysRequest()).keys], ""))


@blueprint.post("/v1/api-keys/<key_id>/revoke")
def revoke_api_key(key_id: str) -> Response:
    return jsonify(to_json(call(_identity().RevokeApiKey, pb.RevokeApiKeyRequest(id=key_id))))


@blueprint.get("/v1/audit-events")
def list_audit_events() -> Response:
    query: dict = {k: request.args[k] for k in ("actor_id", "action", "target_id", "since", "until") if k in request.args}
    reply = call(_identity().ListAuditEvents, from_json(pb.ListAuditEventsRequest, query, page_size=page_size(),
                                                        page_token=request.args.get("cursor", "")))
    report_sensitive_read("audit.read", "audit_events")
    return jsonify(page([to_json(e) for e in reply.events], reply.next_page_token))


PERMISSIONS = {"type": "array", "items": obj(["name", "scope"], name=STRING,
                                             scope={"enum": ["own", "team", "subtree", "all"]})}
UNIT = obj(id=STRING, parent_id=STRING, name=STRING, code=STRING, kind=STRING, path=STRING, time_zone=STRING,
           currency=STRING, ip_allowlist=STRINGS, active=BOOLEAN, version=INTEGER)
USER = obj(id=STRING, login=STRING, display_name=STRING, email=STRING, unit_id=STRING, org_path=STRING,
           manager_id=STRING, roles=STRINGS, active=BOOLEAN, version=INTEGER)


def describe(api: OpenApi) -> None:
    t = "identity"
    api.operation("/v1/org-units", "post", "Create an org unit (time_zone and currency default to the parent's)",
                  tag=t, status=201, response=UNIT, request=obj(
        ["name"], parent_id=STRING, name=STRING, code=STRING, kind=STRING, time_zone=STRING, currency=STRING,
        ip_allowlist=STRINGS))
    api.operation("/v1/org-units", "get", "List org units in scope", tag=t,
                  parameters=[query_param("include_inactive", BOOLEAN)])
    for path, method, summary in [("/v1/org-units/{unit_id}", "get", "Read an org unit"),
                                  ("/v1/org-units/{unit_id}", "patch", "Update an org unit (If-Match)"),
                                  ("/v1/org-units/{unit_id}/move", "post", "Move a unit under a new parent"),
                                  ("/v1/org-units/{unit_id}/deactivate", "post", "Deactivate a unit")]:
        api.operation(path, method, summary, tag=t, response=UNIT, parameters=[path_param("unit_id")])
    api.operation("/v1/users", "post", "Create a user", tag=t, status=201, response=USER, request=obj(
        ["login", "display_name", "unit_id", "roles", "initial_password"], login=STRING, display_name=STRING,
        email=STRING, unit_id=STRING, manager_id=STRING, roles=STRINGS, initial_password=STRING,
        password_change_required={**BOOLEAN, "default": True,
                                  "description": "the user must change the initial password at first login"}))
    api.operation("/v1/users", "get", "List users in scope (cursor paging)", tag=t, parameters=[
        query_param("unit_id"), query_param("q"), query_param("limit", INTEGER), query_param("cursor")])
    for path, method, summary in [("/v1/users/{user_id}", "get", "Read a user"),
                                  ("/v1/users/{user_id}", "patch", "Update a user (If-Match)"),
                                  ("/v1/users/{user_id}/deactivate", "post", "Deactivate a user; sessions revoked"),
                                  ("/v1/users/{user_id}/unlock", "post", "Unlock a locked-out user")]:
        api.operation(path, method, summary, tag=t, response=USER, parameters=[path_param("user_id")])
    api.operation("/v1/login-protection", "get", "Login limits, locked or failing accounts in scope, and "
                  "throttled addresses (company-wide user administrators)", tag=t)
    api.operation("/v1/login-protection/addresses/{address}/clear", "post",
                  "Forget an address's recorded login failures (ends its throttle)", tag=t,
                  parameters=[path_param("address")])
    api.operation("/v1/roles", "get", "List roles", tag=t)
    api.operation("/v1/roles", "post", "Create a custom role", tag=t, status=201,
                  request=obj(["code", "name", "permissions"], code=STRING, name=STRING, permissions=PERMISSIONS))
    api.operation("/v1/api-keys", "post", "Create a partner API key (secret shown once)", tag=t, status=201,
                  request=obj(["name", "unit_id", "permissions"], name=STRING, unit_id=STRING,
                              permissions=PERMISSIONS, ttl_days=INTEGER,
                              rate_limit_per_minute={**INTEGER, "description": "requests per minute for this key "
                                                     "across the gateway (0: the default for partner keys)"}))
    api.operation("/v1/api-keys", "get", "List API keys", tag=t)
    api.operation("/v1/api-keys/{key_id}/revoke", "post", "Revoke an API key", tag=t,
                  parameters=[path_param("key_id")])
    api.operation("/v1/audit-events", "get", "Query the audit trail (admins and auditors)", tag=t, parameters=[
        query_param("actor_id"), query_param("action"), query_param("target_id"), query_param("since"),
        query_param("until"), query_param("limit", INTEGER), query_param("cursor")])
