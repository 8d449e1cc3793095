"""Access tokens: JWTs signed by identity (EdDSA, pinned), their claims and the principal they
carry, and the JWKS key set they are verified against."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
from jwt import PyJWK

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import Unauthenticated
from salesgrid_common.scopes import Scope

ALGORITHM = "EdDSA"  # pinned: tokens with any other alg (including "none") are refused


class UnknownKey(Unauthenticated):
    def __init__(self, kid: str) -> None:
        super().__init__(f"token signed with unknown key {kid!r}")
        self.kid = kid


class KeySet:
    """Public verification keys by key id, parsed from a JWKS document."""

    def __init__(self, keys: Mapping[str, Any] | None = None) -> None:
        self.keys: dict[str, Any] = dict(keys or {})

    @classmethod
    def from_jwks(cls, document: str | Mapping[str, Any]) -> "KeySet":
        data = json.loads(document) if isinstance(document, str) else document
        keys = {}
        for entry in data.get("keys", []):
            if entry.get("kid") and entry.get("alg", ALGORITHM) == ALGORITHM:
                keys[entry["kid"]] = PyJWK(entry, algorithm=ALGORITHM).key
        return cls(keys)


def decode_token(token: str, keys: KeySet, *, issuer: str, audience: str, client_ip: str = "") -> Principal:
    return decode_token_expiry(token, keys, issuer=issuer, audience=audience, client_ip=client_ip)[0]


def decode_token_expiry(
    token: str, keys: KeySet, *, issuer: str, audience: str, client_ip: str = ""
) -> tuple[Principal, float]:
    """The verified principal and the token's expiry (epoch seconds)."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise Unauthenticated(f"token algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid") or ""
    key = keys.keys.get(kid)
    if key is None:
        raise UnknownKey(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthenticated("token audience is not accepted") from None
    except jwt.InvalidIssuerError:
        raise Unauthenticated("token issuer is not accepted") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    return principal_from_claims(claims, token, client_ip), float(claims["exp"])


def principal_from_claims(claims: Mapping[str, Any], token: str = "", client_ip: str = "") -> Principal:
    permissions: dict[str, Scope] = {}
    for name, scope in (claims.get("perms") or {}).items():
        try:
            permissions[name] = Scope.parse(scope)
        except ValueError:
            continue  # an unknown scope grants nothing (fail closed)
    return Principal(
        subject_id=str(claims["sub"]),
        kind=str(claims.get("kind", "user")),
        unit_id=str(claims.get("unit", "")),
        org_path=str(claims.get("org", "")),
        permissions=permissions,
        roles=tuple(claims.get("roles") or ()),
        name=str(claims.get("name", "")),
        token_id=str(claims.get("jti", "")),
        token=token,
        client_ip=client_ip,
        ip_allowlist=tuple(str(c) for c in claims.get("ipal") or ()),
        password_change_required=bool(claims.get("pwc", False)),
        responsible_id=str(claims.get("resp", "")),
        key_expires_at=float(claims.get("kexp") or 0.0),
    )


def sign_token(claims: Mapping[str, Any], private_key: Any, kid: str) -> str:
    return jwt.encode(dict(claims), private_key, algorithm=ALGORITHM, headers={"kid": kid})


def access_claims(
    principal: Principal, *, issuer: str, audience: str, ttl_seconds: int, token_id: str, now: float | None = None
) -> dict[str, Any]:
    issued = int(now if now is not None else time.time())
    return {
        "iss": issuer,
        "aud": audience,
        "sub": principal.subject_id,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": token_id,
        "kind": principal.kind,
        "unit": principal.unit_id,
        "org": principal.org_path,
        "roles": list(principal.roles),
        "name": principal.name,
        "perms": {name: scope.name.lower() for name, scope in principal.permissions.items()},
        "ipal": list(principal.ip_allowlist),
        "pwc": principal.password_change_required,
        "resp": principal.responsible_id,
        "kexp": principal.key_expires_at,
    }


def job_claims(principal: Principal) -> dict[str, Any]:
    """The claims a background job (an import, an export) keeps to act as `principal` later
    (principal_from_claims reads them back): the principal's, never a token."""
    return access_claims(principal, issuer="", audience="", ttl_seconds=0, token_id="")
