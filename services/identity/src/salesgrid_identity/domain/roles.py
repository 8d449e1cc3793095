"""The permission catalogue and the built-in roles. A permission is `resource:action` with a
data scope; a user's effective permissions are the widest scope any of his roles grants."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from salesgrid_common.scopes import Scope
from salesgrid_common.errors import ValidationFailed


@dataclass(frozen=True)
class Role:
    """A named set of permissions (scope names by permission); built-in roles come with the platform."""

    code: str
    name: str
    permissions: Mapping[str, str] = field(default_factory=dict, hash=False)
    builtin: bool = False


RESOURCES: dict[str, tuple[str, ...]] = {
    "org_units": ("read", "create", "update", "delete"),
    "users": ("read", "create", "update", "delete"),
    "roles": ("read", "create"),
    "api_keys": ("read", "create", "delete"),
    "audit": ("read",),
    "customers": ("read", "create", "update", "delete", "share", "merge", "export", "import"),
    "pool": ("read", "claim", "release"),
    "leads": ("read", "create", "update", "assign", "export"),
    "opportunities": ("read", "create", "update", "export"),
    "stage_models": ("read", "update"),
    "custom_fields": ("read", "manage"),  # definitions; values are written with their records
    "quotes": ("read", "create", "update", "approve"),
    "activities": ("read", "create", "update"),
    "tasks": ("read", "create", "update"),
    "daily_reports": ("read", "create", "review"),
    "products": ("read", "create", "update"),
    "contracts": ("read", "create", "update", "approve", "export"),
    "payments": ("read", "create"),
    "expenses": ("read", "create", "update", "approve", "pay"),
    "analytics": ("read", "export"),
    "targets": ("read", "update"),
    "webhooks": ("read", "create", "delete"),
    "announcements": ("publish",),  # 新闻公告: to a unit and its subtree within the scope
    "spot_checks": ("verify",),  # 每周抽查: the weekly follow-up spot checks assigned to one
}
CATALOGUE = frozenset(f"{resource}:{action}" for resource, actions in RESOURCES.items() for action in actions)
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")

SALES_RESOURCES = (
    "customers",
    "pool",
    "leads",
    "opportunities",
    "quotes",
    "activities",
    "tasks",
    "daily_reports",
    "contracts",
    "payments",
    "analytics",
    "targets",
    "expenses",
)


def _grant(resources: Iterable[str], scope: Scope, actions: Iterable[str] | None = None) -> dict[str, Scope]:
    granted = {}
    for resource in resources:
        for action in RESOURCES[resource]:
            if actions is None or action in actions:
                granted[f"{resource}:{action}"] = scope
    return granted


def _sales_role(scope: Scope, *, review: bool) -> dict[str, Scope]:
    perms = _grant(SALES_RESOURCES, scope)
    if not review:
        perms.pop("daily_reports:review")
        perms.pop("contracts:approve")
        perms.pop("quotes:approve")
        perms.pop("targets:update")
        perms.pop("expenses:approve")
    perms.pop("expenses:pay")  # finance pays expense claims, never the sales line
    perms.update(_grant(["products", "stage_models", "custom_fields"], Scope.ALL, ["read"]))
    if review:  # those who lead people publish announcements to them
        perms["announcements:publish"] = scope
    perms["users:read"] = max(scope, Scope.TEAM)
    perms["org_units:read"] = Scope.ALL
    return perms


BUILTIN_ROLES: dict[str, tuple[str, dict[str, Scope]]] = {
    "admin": ("Administrator", {name: Scope.ALL for name in CATALOGUE}),
    "director": ("Sales director (销售总监)", _sales_role(Scope.ALL, review=True) | {"stage_models:update": Scope.ALL}),
    "regional_head": ("Regional head (区总)", _sales_role(Scope.SUBTREE, review=True)),
    "manager": ("Sales manager (销售经理)", _sales_role(Scope.SUBTREE, review=True)),
    "supervisor": ("Sales supervisor (销售主管)", _sales_role(Scope.TEAM, review=True)),
    "rep": ("Sales rep (销售业务员)", _sales_role(Scope.OWN, review=False)),
    "finance": (
        "Finance",
        _grant(["contracts", "payments", "products"], Scope.ALL)
        | _grant(["expenses"], Scope.ALL, ["read", "pay"])
        | _grant(["customers", "analytics"], Scope.ALL, ["read", "export"])
        | {"users:read": Scope.ALL, "org_units:read": Scope.ALL, "custom_fields:read": Scope.ALL},
    ),
    # 销售管理专员: verifies the reps' follow-ups in the weekly spot checks of his subtree.
    "sales_admin": (
        "Sales administrator (销售管理专员)",
        {
            "spot_checks:verify": Scope.SUBTREE,
            "activities:read": Scope.SUBTREE,
            "customers:read": Scope.SUBTREE,
            "users:read": Scope.SUBTREE,
            "org_units:read": Scope.ALL,
        },
    ),
    "auditor": ("Auditor", {name: Scope.ALL for name in CATALOGUE if name.endswith(":read")}),
}


def validate_permissions(perms: Mapping[str, str], field: str = "permissions") -> dict[str, Scope]:
    checked: dict[str, Scope] = {}
    for name, scope in perms.items():
        if name not in CATALOGUE:
            raise ValidationFailed(f"unknown permission {name!r}", field)
        try:
            checked[name] = Scope.parse(scope)
        except ValueError as exc:
            raise ValidationFailed(str(exc), field) from None
    return checked


def validate_role_code(code: str) -> str:
    if not _CODE.match(code):
        raise ValidationFailed("must be 2-40 lowercase letters, digits or underscores, starting with a letter", "code")
    if code in BUILTIN_ROLES:
        raise ValidationFailed(f"{code!r} is a built-in role", "code")
    return code


def effective_permissions(role_grants: Iterable[Mapping[str, Scope]]) -> dict[str, Scope]:
    merged: dict[str, Scope] = {}
    for grants in role_grants:
        for name, scope in grants.items():
            if name in CATALOGUE and scope > merged.get(name, Scope.OWN - 1):
                merged[name] = scope
    return merged


def within_grant(requested: Mapping[str, Scope], grantor: Mapping[str, Scope]) -> list[str]:
    """Permissions in `requested` that exceed what the grantor holds (nobody hands out more)."""
    return sorted(name for name, scope in requested.items() if grantor.get(name, 0) < scope)
