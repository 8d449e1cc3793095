"""SQL WHERE clauses limiting rows to what a principal may see for a permission (his data scope:
own, team, subtree or all), built per call (`scope_filter`) or once per shape with the caller's
values bound at execution (`scope_clause`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, false, or_, true
from sqlalchemy.sql.elements import ColumnElement as _Column

from salesgrid_common.auth.principal import Principal
from salesgrid_common.scopes import Scope


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
