"""/v1/auth/* and /v1/me."""
from __future__ import annotations

from flask import Blueprint, Response, g, jsonify

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid.identity.v1 import identity_pb2_grpc as pb_grpc
from salesgrid_gateway.clients import call, stub, to_json
from salesgrid_gateway.openapi import BOOLEAN, INTEGER, STRING, OpenApi, obj
from salesgrid_gateway.routes.common import json_body, require_fields

blueprint = Blueprint("auth", __name__)
TOKENS = obj(access_token=STRING, refresh_token=STRING, expires_in=INTEGER, token_type=STRING,
             password_change_required=BOOLEAN)


def _auth() -> pb_grpc.AuthStub:
    return stub(pb_grpc.AuthStub, "identity_addr")


@blueprint.post("/v1/auth/login")
def login() -> Response:
    body = json_body()
    require_fields(body, "login", "password")
    pair = call(_auth().Login, pb.LoginRequest(login=str(body["login"]), password=str(body["password"]),
                                                client_ip=g.client_ip), token="")
    return jsonify(to_json(pair))


@blueprint.post("/v1/auth/refresh")
def refresh() -> Response:
    body = json_body()
    require_fields(body, "refresh_token")
    pair = call(_auth().Refresh, pb.RefreshRequest(refresh_token=str(body["refresh_token"]), client_ip=g.client_ip),
                token="")
    return jsonify(to_json(pair))


@blueprint.post("/v1/auth/logout")
def logout() -> tuple[str, int]:
    body = json_body()
    require_fields(body, "refresh_token")
    call(_auth().Logout, pb.LogoutRequest(refresh_token=str(body["refresh_token"])), token="")
    return "", 204


@blueprint.post("/v1/auth/password")
def change_password() -> tuple[str, int]:
    body = json_body()
    require_fields(body, "current_password", "new_password")
    identity = stub(pb_grpc.IdentityStub, "identity_addr")
    call(identity.ChangePassword, pb.ChangePasswordRequest(current_password=str(body["current_password"]),
                                                           new_password=str(body["new_password"])))
    return "", 204


@blueprint.get("/v1/me")
def me() -> Response:
    identity = stub(pb_grpc.IdentityStub, "identity_addr")
    return jsonify(to_json(call(identity.GetMe, pb.GetMeRequest())))


def describe(api: OpenApi) -> None:
    api.operation("/v1/auth/login", "post", "Log in with login and password", tag="auth", public=True,
                  request=obj(["login", "password"], login=STRING, password=STRING), response=TOKENS)
    api.operation("/v1/auth/refresh", "post", "Exchange a refresh token (rotated) for new tokens", tag="auth",
                  public=True, request=obj(["refresh_token"], refresh_token=STRING), response=TOKENS)
    api.operation("/v1/auth/logout", "post", "Revoke a refresh token and its session", tag="auth", public=True,
                  request=obj(["refresh_token"], refresh_token=STRING), status=204)
    api.operation("/v1/auth/password", "post", "Change one's password", tag="auth", status=204,
                  request=obj(["current_password", "new_password"], current_password=STRING, new_password=STRING))
    api.operation("/v1/me", "get", "The caller: user or API key, unit, roles and effective permissions", tag="auth",
                  response=obj(id=STRING, login=STRING, display_name=STRING, unit_id=STRING, org_path=STRING,
                               kind=STRING))
