import pytest

from salesgrid_customers.domain.access import Actor, is_manager_of, is_owner_or_manager
from salesgrid_customers.domain.errors import FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from salesgrid_customers.domain.sharing import (
    MAX_SHARES,
    Share,
    ShareRole,
    add_share,
    can_read,
    can_write,
    remove_share,
)

OWNER_PATH = ("hq", "east", "sh-branch", "team-1")
OWNER = Actor("owner", OWNER_PATH, frozenset({"rep"}))
BRANCH_MANAGER = Actor("mgr", ("hq", "east", "sh-branch"), frozenset({"sales_manager"}))
OTHER_BRANCH_MANAGER = Actor("mgr2", ("hq", "east", "hz-branch"), frozenset({"sales_manager"}))
PEER = Actor("peer", OWNER_PATH, frozenset({"rep"}))
AUDITOR_AT_HQ = Actor("aud", ("hq",), frozenset({"auditor"}))


def share(actor: Actor, user: str, role: str = "co_owner", shares: tuple[Share, ...] = ()) -> tuple[Share, ...]:
    return add_share(shares, owner_id="owner", owner_unit_path=OWNER_PATH, actor=actor, user_id=user, role=role)


def test_manager_of_subtree() -> None:
    assert is_manager_of(BRANCH_MANAGER, OWNER_PATH)
    assert is_manager_of(Actor("d", ("hq",), frozenset({"sales_director"})), OWNER_PATH)
    assert not is_manager_of(OTHER_BRANCH_MANAGER, OWNER_PATH)
    assert not is_manager_of(AUDITOR_AT_HQ, OWNER_PATH)  # no manager role
    assert not is_manager_of(PEER, OWNER_PATH)


def test_manager_check_fails_closed() -> None:
    assert not is_manager_of(BRANCH_MANAGER, ())
    assert not is_manager_of(Actor("m", (), frozenset({"sales_manager"})), OWNER_PATH)
    assert not is_owner_or_manager(Actor("x", (), frozenset()), None, ())


def test_owner_adds_co_owner() -> None:
    assert share(OWNER, "peer") == (Share("peer", ShareRole.CO_OWNER),)


def test_manager_adds_collaborator() -> None:
    assert share(BRANCH_MANAGER, "peer", "collaborator") == (Share("peer", ShareRole.COLLABORATOR),)


@pytest.mark.parametrize("actor", [PEER, OTHER_BRANCH_MANAGER, AUDITOR_AT_HQ])
def test_others_cannot_share(actor: Actor) -> None:
    with pytest.raises(PermissionDenied):
        share(actor, "someone")


def test_owner_cannot_be_shared_with_himself() -> None:
    with pytest.raises(ValidationFailed) as exc:
        share(OWNER, "owner")
    assert exc.value.field == "user_id"


def test_unknown_role_rejected() -> None:
    with pytest.raises(ValidationFailed) as exc:
        share(OWNER, "peer", "admin")
    assert exc.value.field == "role"


def test_resharing_changes_role_without_duplicates() -> None:
    shares = share(OWNER, "peer", "collaborator")
    shares = share(OWNER, "peer", "co_owner", shares)
    assert shares == (Share("peer", ShareRole.CO_OWNER),)


def test_pool_customer_cannot_be_shared() -> None:
    with pytest.raises(FailedPrecondition):
        add_share((), owner_id=None, owner_unit_path=(), actor=OWNER, user_id="x", role="co_owner")


def test_share_count_bounded() -> None:
    shares = tuple(Share(f"u{i}", ShareRole.COLLABORATOR) for i in range(MAX_SHARES))
    with pytest.raises(FailedPrecondition):
        share(OWNER, "one-more", shares=shares)
    assert len(share(OWNER, "u0", "co_owner", shares)) == MAX_SHARES  # role change still allowed


def test_remove_share() -> None:
    shares = (Share("a", ShareRole.CO_OWNER), Share("b", ShareRole.COLLABORATOR))
    result = remove_share(shares, owner_id="owner", owner_unit_path=OWNER_PATH, actor=BRANCH_MANAGER, user_id="a")
    assert result == (Share("b", ShareRole.COLLABORATOR),)


def test_remove_requires_permission_and_existing_share() -> None:
    shares = (Share("peer", ShareRole.CO_OWNER),)
    with pytest.raises(PermissionDenied):
        remove_share(shares, owner_id="owner", owner_unit_path=OWNER_PATH, actor=PEER, user_id="peer")
    with pytest.raises(NotFound) as exc:
        remove_share(shares, owner_id="owner", owner_unit_path=OWNER_PATH, actor=OWNER, user_id="zz")
    assert exc.value.field == "user_id"


def test_read_write_by_role() -> None:
    shares = (Share("co", ShareRole.CO_OWNER), Share("ro", ShareRole.COLLABORATOR))
    assert can_write("owner", "owner", shares) and can_write("co", "owner", shares)
    assert not can_write("ro", "owner", shares)
    assert can_read("ro", "owner", shares) and not can_read("x", "owner", shares)


def test_identity_builtin_manager_roles_manage_their_subtree() -> None:
    # identity issues "manager" / "director" / "supervisor" / "regional_head" as role codes.
    for role in ("manager", "director", "supervisor", "regional_head"):
        assert is_manager_of(Actor("m", ("c", "r1"), frozenset({role})), ("c", "r1", "t1"))
    assert not is_manager_of(Actor("m", ("c", "r1"), frozenset({"rep"})), ("c", "r1", "t1"))
