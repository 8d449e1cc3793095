"""The verified caller of a request: who he is (`Principal`) and what he may do, as granted by his
token's permissions and data scopes.

Fails closed: a missing permission or an address outside the unit's allow-list grants nothing."""

from __future__ import annotations

import contextvars
import functools
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from salesgrid_common.errors import PermissionDenied, Unauthenticated
from salesgrid_common.scopes import Scope


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


# The verified caller of the RPC being handled (set by the server interceptor).
current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("current_principal", default=None)


def caller() -> Principal:
    principal = current_principal.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller")
    return principal
