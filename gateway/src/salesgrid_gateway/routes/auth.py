"""/v1/auth/* and /v1/me."""

from __future__ import annotations

from salesgrid.identity.v1 import identity_pb2 as pb
from salesgrid_gateway.rest.table import Service

auth = Service(pb, "Auth", "identity_addr", tag="auth")
identity = Service(pb, "Identity", "identity_addr", tag="auth")

ROUTES = [
    auth.post(
        "/v1/auth/login",
        "Login",
        "Log in with login and password",
        public=True,
        anonymous_call=True,
        required=("login", "password"),
    ),
    auth.post(
        "/v1/auth/refresh",
        "Refresh",
        "Exchange a refresh token (rotated) for new tokens",
        public=True,
        anonymous_call=True,
        required=("refresh_token",),
    ),
    auth.post(
        "/v1/auth/logout",
        "Logout",
        "Revoke a refresh token and its session",
        public=True,
        anonymous_call=True,
        required=("refresh_token",),
        status=204,
    ),
    identity.post(
        "/v1/auth/password",
        "ChangePassword",
        "Change one's password",
        status=204,
        required=("current_password", "new_password"),
    ),
    identity.get("/v1/me", "GetMe", "The caller: user or API key, unit, roles and effective permissions"),
]
