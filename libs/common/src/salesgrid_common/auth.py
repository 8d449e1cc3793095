"""Caller identity inside the platform: JWT verification against identity's JWKS, the
`Principal` it yields, and data-scope filters for SQL queries. Everything fails closed."""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import json
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jwt
from jwt import PyJWK
from sqlalchemy import ColumnElement, bindparam, false, or_, true
from sqlalchemy.sql.elements import ColumnElement as _Column

from salesgrid_common.errors import DependencyUnavailable, PermissionDenied, Unauthenticated
from salesgrid_common.scopes import Scope

ALGORITHM = "EdDSA"  # pinned: tokens with any other alg (including "none") are refused


@dataclass(frozen=True)
class Principal:
    subject_id: str  # user id, or api key id for partners
    kind: str  # "user" | "api_key"
    unit_id: str
    org_path: str  # materialised path of the unit, e.g. "/<company>/<region>/<branch>/"
    permissions: Mapping[str, Scope] = field(default_factory=dict)
    roles: tuple[str, ...] = ()
    name: str = ""
    token_id: str = ""
    token: str = ""  # the raw bearer token, forwarded on calls to other services
    client_ip: str = ""
    # CIDRs in force for the principal's unit when the token was issued (empty: no restriction).
    ip_allowlist: tuple[str, ...] = ()
    # A temporary or expired password: until it is changed the token opens nothing else.
    password_change_required: bool = False
    # An API key's creator: the person answerable for what the key does (webhooks tell him when
    # one of the key's subscriptions is disabled); "" for people and for older tokens.
    responsible_id: str = ""
    # An API key's own expiry (epoch seconds; 0: none known), for what outlives one token
    # (webhook subscriptions stop when the key expires).
    key_expires_at: float = 0.0

    def ip_permitted(self) -> bool:
        return ip_allowed(self.client_ip, self.ip_allowlist)

    def scope_for(self, permission: str) -> Scope | None:
        """The scope granted for `resource:action`, or None (deny) when not granted."""
        return self.permissions.get(permission)

    def require(self, permission: str) -> Scope:
        scope = self.scope_for(permission)
        if scope is None:
            raise PermissionDenied(f"missing permission {permission}")
        return scope

    def can_see(self, permission: str, owner_id: str, org_path: str, shared_with: frozenset[str] = frozenset()) -> bool:
        """Plain-Python twin of `scope_filter`, for single records already loaded."""
        scope = self.scope_for(permission)
        if scope is None:
            return False
        if owner_id == self.subject_id or self.subject_id in shared_with:
            return True
        if scope is Scope.ALL:
            return True
        if scope is Scope.SUBTREE:
            return bool(self.org_path) and org_path.startswith(self.org_path)
        if scope is Scope.TEAM:
            return bool(self.org_path) and org_path == self.org_path
        return False


def ip_allowed(client_ip: str, allowlist: Sequence[str]) -> bool:
    """An empty allow-list allows everyone; otherwise the address must fall in one CIDR. An
    unknown or unparseable address is refused (fail closed)."""
    if not allowlist:
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(allowlist)))


@functools.lru_cache(maxsize=1024)
def _networks(allowlist: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allowlist)


def scope_filter(
    principal: Principal,
    permission: str,
    owner_column: _Column[Any],
    org_path_column: _Column[Any],
    shared_with: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause limiting rows to what the principal may see for `permission`.

    `shared_with` is an optional clause true for rows explicitly shared with the principal."""
    scope = principal.scope_for(permission)
    if scope is None:
        return false()
    if scope is Scope.ALL:
        return true()
    clauses: list[ColumnElement[bool]] = [owner_column == principal.subject_id]
    if shared_with is not None:
        clauses.append(shared_with)
    if scope is Scope.SUBTREE and principal.org_path:
        clauses.append(org_path_column.startswith(principal.org_path, autoescape=True))
    elif scope is Scope.TEAM and principal.org_path:
        clauses.append(org_path_column == principal.org_path)
    return or_(*clauses)


# Hot paths build their scoped statement once per shape and bind the caller's values at execution
# (building a scoped SELECT and computing its cache key cost more than running it):
#     @lru_cache
#     def _statement(shape: ScopeShape) -> Select: ... .where(scope_clause(shape, owner, path))
#     await session.scalar(_statement(scope_shape(p, perm)), {**scope_params(p), ...})
SCOPE_SUBJECT = "scope_subject"  # the caller's id
SCOPE_PATH_PATTERN = "scope_path_pattern"  # LIKE pattern: the caller's org path, escaped, then %
SCOPE_PATH = "scope_path"  # the caller's org path
_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class ScopeShape:
    """What a scope filter looks like for one caller and permission, without his values."""

    scope: Scope | None
    has_path: bool


def scope_shape(principal: Principal, permission: str) -> ScopeShape:
    return ScopeShape(principal.scope_for(permission), bool(principal.org_path))


def scope_params(principal: Principal) -> dict[str, str]:
    """The values a `scope_clause` is executed with."""
    path = principal.org_path
    escaped = (
        path.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")
    )
    return {SCOPE_SUBJECT: principal.subject_id, SCOPE_PATH: path, SCOPE_PATH_PATTERN: escaped + "%"}


def scope_clause(
    shape: ScopeShape,
    owner_column: _Column[Any],
    org_path_column: _Column[Any],
    shared_with: ColumnElement[bool] | None = None,
) -> ColumnElement[bool]:
    """`scope_filter` with the caller's values as named parameters (see scope_params); a shared
    clause names the caller as `bindparam(SCOPE_SUBJECT)`."""
    if shape.scope is None:
        return false()
    if shape.scope is Scope.ALL:
        return true()
    clauses: list[ColumnElement[bool]] = [owner_column == bindparam(SCOPE_SUBJECT)]
    if shared_with is not None:
        clauses.append(shared_with)
    if shape.scope is Scope.SUBTREE and shape.has_path:
        clauses.append(org_path_column.like(bindparam(SCOPE_PATH_PATTERN), escape=_LIKE_ESCAPE))
    elif shape.scope is Scope.TEAM and shape.has_path:
        clauses.append(org_path_column == bindparam(SCOPE_PATH))
    return or_(*clauses)


# --- tokens -----------------------------------------------------------------------------------


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


class VerifiedTokens:
    """Tokens already verified by this process, kept until they expire: a token's signature is
    checked once per process, not once per request. Expiry is checked again on every hit, so a
    cached token is never accepted later than its `exp`; the cache is bounded (`max_entries`),
    dropping expired entries first and then the oldest."""

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()  # the gateway's threads share one cache

    def get(self, token: str, client_ip: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, expires = entry
        if self.clock() >= expires:
            self._entries.pop(token, None)
            return None
        return principal if principal.client_ip == client_ip else replace(principal, client_ip=client_ip)

    def put(self, principal: Principal, expires: float) -> None:
        with self._lock:
            self._put(principal, expires)

    def _put(self, principal: Principal, expires: float) -> None:
        if len(self._entries) >= self.max_entries:
            now = self.clock()
            for token in [t for t, (_, exp) in self._entries.items() if exp <= now]:
                del self._entries[token]
            while len(self._entries) >= self.max_entries:  # still full: drop the oldest
                del self._entries[next(iter(self._entries))]
        self._entries[principal.token] = (principal, expires)

    def __len__(self) -> int:
        return len(self._entries)


class _VerifierCore:
    """Key cache and verified-token cache shared by the async (services) and sync (gateway)
    verifiers."""

    def __init__(
        self, *, issuer: str, audience: str, min_refresh_interval: float = 5.0, cache: VerifiedTokens | None = None
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.min_refresh_interval = min_refresh_interval
        self.keys = KeySet()
        self._fetched_at = float("-inf")
        self.verified = cache if cache is not None else VerifiedTokens()

    def _cached(self, token: str, client_ip: str) -> Principal | None:
        return self.verified.get(token, client_ip)

    def _decode(self, token: str, client_ip: str) -> Principal:
        principal, expires = decode_token_expiry(
            token, self.keys, issuer=self.issuer, audience=self.audience, client_ip=client_ip
        )
        self.verified.put(principal, expires)
        return principal

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._fetched_at >= self.min_refresh_interval

    def _load(self, fetch: Callable[[], str]) -> None:
        try:
            self.keys = KeySet.from_jwks(fetch())
        except Exception:
            # Fail closed, but as the outage it is (identity unreachable: 503, retry), not as the
            # caller's fault.
            raise DependencyUnavailable("signing keys are unavailable; retry later") from None
        finally:
            self._fetched_at = time.monotonic()


class AsyncTokenVerifier(_VerifierCore):
    """Verifies tokens in services; refetches the JWKS (rate-limited) on an unknown key id."""

    def __init__(self, fetch_jwks: Callable[[], Awaitable[str]], **options: Any) -> None:
        super().__init__(**options)
        self.fetch_jwks = fetch_jwks

    async def verify(self, token: str, client_ip: str = "") -> Principal:
        cached = self._cached(token, client_ip)
        if cached is not None:
            return cached
        try:
            return self._decode(token, client_ip)
        except UnknownKey:
            if not self._may_refresh():
                raise
        try:
            document = await self.fetch_jwks()
        except Exception:
            document = ""
        self._load(lambda: document)
        return self._decode(token, client_ip)


class SyncTokenVerifier(_VerifierCore):
    """The gateway's verifier (Flask handlers are synchronous)."""

    def __init__(self, fetch_jwks: Callable[[], str], **options: Any) -> None:
        super().__init__(**options)
        self.fetch_jwks = fetch_jwks

    def verify(self, token: str, client_ip: str = "") -> Principal:
        cached = self._cached(token, client_ip)
        if cached is not None:
            return cached
        try:
            return self._decode(token, client_ip)
        except UnknownKey:
            if not self._may_refresh():
                raise
        self._load(self.fetch_jwks)
        return self._decode(token, client_ip)


# The verified caller of the RPC being handled (set by the server interceptor).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("current_principal", default=None)


def caller() -> Principal:
    principal = current_principal.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller")
    return principal
