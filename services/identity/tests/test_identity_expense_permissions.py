"""Built-in roles and the expenses service's permissions: reps file, superiors approve within
their scope, finance pays; nobody in the sales line pays out claims."""

from salesgrid_common.scopes import Scope
from salesgrid_identity.domain.roles import BUILTIN_ROLES, CATALOGUE


def grants(role: str) -> dict[str, Scope]:
    return {k: v for k, v in BUILTIN_ROLES[role][1].items() if k.startswith("expenses:")}


def test_expense_permissions_of_the_built_in_roles() -> None:
    assert {"expenses:read", "expenses:create", "expenses:update", "expenses:approve", "expenses:pay"} <= CATALOGUE
    assert grants("rep") == {"expenses:read": Scope.OWN, "expenses:create": Scope.OWN, "expenses:update": Scope.OWN}
    assert grants("supervisor")["expenses:approve"] is Scope.TEAM
    assert grants("manager")["expenses:approve"] is Scope.SUBTREE
    assert grants("director")["expenses:approve"] is Scope.ALL
    for role in ("rep", "supervisor", "manager", "regional_head", "director"):
        assert "expenses:pay" not in grants(role), role
    assert grants("finance") == {"expenses:read": Scope.ALL, "expenses:pay": Scope.ALL}
    assert set(grants("auditor")) == {"expenses:read"}
    assert grants("admin")["expenses:pay"] is Scope.ALL
