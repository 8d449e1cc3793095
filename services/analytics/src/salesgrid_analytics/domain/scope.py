"""Data scope of analytics views: a rep sees himself, a manager his subtree, a director all.

Rules fail closed: anything not explicitly allowed is denied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from . import orgpath
from .errors import PermissionDenied, ValidationFailed


class ScopeKind(StrEnum):
    OWN = "own"
    SUBTREE = "subtree"
    ALL = "all"


@dataclass(frozen=True)
class PrincipalScope:
    kind: ScopeKind
    user_id: str
    org_path: str  # the caller's own unit

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ScopeKind):
            raise ValidationFailed(f"unknown scope kind {self.kind!r}", "scope")
        if not self.user_id or not self.user_id.strip():
            raise ValidationFailed("must not be blank", "user_id")
        object.__setattr__(self, "org_path", orgpath.normalize(self.org_path))

    @staticmethod
    def rep(user_id: str, org_path: str) -> PrincipalScope:
        return PrincipalScope(ScopeKind.OWN, user_id, org_path)

    @staticmethod
    def manager(user_id: str, org_path: str) -> PrincipalScope:
        return PrincipalScope(ScopeKind.SUBTREE, user_id, org_path)

    @staticmethod
    def director(user_id: str, org_path: str) -> PrincipalScope:
        return PrincipalScope(ScopeKind.ALL, user_id, org_path)


def visible(scope: PrincipalScope, owner_id: str, org_path: str) -> bool:
    """May the caller see a record owned by `owner_id` in unit `org_path`?"""
    if scope.kind is ScopeKind.ALL:
        return True
    if scope.kind is ScopeKind.SUBTREE:
        return owner_id == scope.user_id or orgpath.is_within(org_path, scope.org_path)
    if scope.kind is ScopeKind.OWN:
        return owner_id == scope.user_id
    return False


def require_subtree(scope: PrincipalScope, unit: str, field: str = "unit") -> str:
    """The normalized `unit` if the caller may see its whole subtree; PermissionDenied naming it otherwise."""
    path = orgpath.normalize(unit, field)
    if scope.kind is ScopeKind.ALL:
        return path
    if scope.kind is ScopeKind.SUBTREE and orgpath.is_within(path, scope.org_path):
        return path
    raise PermissionDenied(f"unit {path} is outside your data scope", field)


def require_rep(scope: PrincipalScope, rep_id: str, rep_org_path: str, field: str = "rep_id") -> str:
    """`rep_id` if the caller may see that rep's figures; PermissionDenied naming the rep otherwise."""
    if not visible(scope, rep_id, orgpath.normalize(rep_org_path, field)):
        raise PermissionDenied(f"rep {rep_id} is outside your data scope", field)
    return rep_id
