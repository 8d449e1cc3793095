"""Built-in roles and the permissions of announcements (新闻公告) and spot checks (每周抽查):
those who lead people publish to them within their own scope, reps do not; the sales
administrator (销售管理专员) verifies follow-ups of his subtree and publishes nothing."""

from salesgrid_common.scopes import Scope
from salesgrid_identity.domain.roles import BUILTIN_ROLES, CATALOGUE


def grant(role: str, permission: str) -> Scope | None:
    return BUILTIN_ROLES[role][1].get(permission)


def test_announcement_and_spot_check_permissions_of_the_built_in_roles() -> None:
    assert {"announcements:publish", "spot_checks:verify"} <= CATALOGUE
    assert grant("admin", "announcements:publish") is Scope.ALL
    assert grant("director", "announcements:publish") is Scope.ALL
    assert grant("regional_head", "announcements:publish") is Scope.SUBTREE
    assert grant("manager", "announcements:publish") is Scope.SUBTREE
    assert grant("supervisor", "announcements:publish") is Scope.TEAM
    for role in ("rep", "finance", "auditor", "sales_admin"):
        assert grant(role, "announcements:publish") is None, role
    assert grant("sales_admin", "spot_checks:verify") is Scope.SUBTREE
    assert grant("sales_admin", "activities:read") is Scope.SUBTREE  # he reads the follow-ups he verifies
    for role in ("rep", "manager", "director"):
        assert grant(role, "spot_checks:verify") is None, role  # managers read the findings, never make them
