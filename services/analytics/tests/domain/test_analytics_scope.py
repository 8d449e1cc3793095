import pytest

from salesgrid_analytics.domain.errors import PermissionDenied, ValidationFailed
from salesgrid_analytics.domain.scope import PrincipalScope, require_rep, require_subtree, visible

REP = PrincipalScope.rep("rep-a", "/acme/east/sh/t1")
MANAGER = PrincipalScope.manager("mgr-1", "/acme/east/sh")
DIRECTOR = PrincipalScope.director("dir-1", "/acme")


def test_rep_sees_only_himself():
    assert visible(REP, "rep-a", "/acme/east/sh/t1")
    assert not visible(REP, "rep-b", "/acme/east/sh/t1")


def test_manager_sees_his_subtree_only():
    assert visible(MANAGER, "rep-a", "/acme/east/sh")
    assert visible(MANAGER, "rep-a", "/acme/east/sh/t1/x")
    assert not visible(MANAGER, "rep-c", "/acme/east/shenzhen")  # a prefix string, not a subtree
    assert not visible(MANAGER, "rep-c", "/acme/east")
    assert visible(MANAGER, "mgr-1", "/acme/west")  # his own records follow him


def test_director_sees_everything():
    assert visible(DIRECTOR, "anyone", "/other/company")


def test_subtree_inside_scope_allowed():
    assert require_subtree(MANAGER, "/acme/east/sh/t1/") == "/acme/east/sh/t1"
    assert require_subtree(MANAGER, "/acme/east/sh") == "/acme/east/sh"
    assert require_subtree(DIRECTOR, "/acme/west") == "/acme/west"


@pytest.mark.parametrize(
    ("scope", "unit"),
    [
        (MANAGER, "/acme/east"),
        (MANAGER, "/acme/east/shenzhen"),
        (MANAGER, "/"),
        (REP, "/acme/east/sh/t1"),
    ],
)
def test_subtree_outside_scope_denied_naming_unit(scope, unit):
    with pytest.raises(PermissionDenied) as info:
        require_subtree(scope, unit)
    assert info.value.field == "unit"
    assert (unit.rstrip("/") or "/") in info.value.message


def test_malformed_unit_is_a_validation_error():
    with pytest.raises(ValidationFailed) as info:
        require_subtree(DIRECTOR, "acme", field="subtree")
    assert info.value.field == "subtree"


def test_require_rep():
    assert require_rep(REP, "rep-a", "/acme/east/sh/t1") == "rep-a"
    assert require_rep(MANAGER, "rep-b", "/acme/east/sh/t2") == "rep-b"
    with pytest.raises(PermissionDenied) as info:
        require_rep(REP, "rep-b", "/acme/east/sh/t1")
    assert info.value.field == "rep_id"
    with pytest.raises(PermissionDenied):
        require_rep(MANAGER, "rep-c", "/acme/west/cd")


def test_scope_kind_must_be_known():
    with pytest.raises(ValidationFailed) as info:
        PrincipalScope("team", "u", "/acme")  # type: ignore[arg-type]
    assert info.value.field == "scope"
