from datetime import datetime, timedelta, UTC

import pytest

from salesgrid_customers.domain.access import Actor
from salesgrid_customers.domain.customer import MAX_TAGS, Address, Contact, Customer, Tier
from salesgrid_customers.domain.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_customers.domain.merge import plan_merge
from salesgrid_customers.domain.sharing import Share, ShareRole

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PATH_A = ("hq", "br", "team-a")
PATH_B = ("hq", "br", "team-b")
REP_A = Actor("rep-a", PATH_A, frozenset({"rep"}))
BRANCH_MGR = Actor("mgr", ("hq", "br"), frozenset({"sales_manager"}))
TEAM_A_SUPERVISOR = Actor("sup", PATH_A, frozenset({"supervisor"}))


def customer(cid: str, owner: str | None = "rep-a", path: tuple[str, ...] = PATH_A, **kw: object) -> Customer:
    base: dict[str, object] = {
        "id": cid,
        "legal_name": f"name {cid}",
        "normalised_name": f"name{cid}",
        "created_at": T0,
        "owner_id": owner,
        "owner_unit_path": path if owner else (),
    }
    base.update(kw)
    return Customer(**base)  # type: ignore[arg-type]


def test_merge_keeps_everything() -> None:
    survivor = customer(
        "s", tags=("vip", "制造"), contacts=(Contact("c1", "A", primary=True),), tier=Tier.NORMAL, version=4
    )
    dup = customer(
        "d",
        created_at=T0 - timedelta(days=5),
        tags=("制造", "华东"),
        tier=Tier.KEY,
        contacts=(Contact("c2", "B", primary=True), Contact("c3", "C")),
        credit_code="914403001922038216",
        industry="通信",
        address=Address("深圳"),
        source="展会",
        version=2,
    )
    plan = plan_merge(survivor, [dup], REP_A)
    merged = plan.survivor
    assert plan.survivor_id == "s" and plan.merged_ids == ("d",)
    assert plan.expected_versions == {"s": 4, "d": 2}
    assert [c.id for c in merged.contacts] == ["c1", "c2", "c3"]
    assert [c.primary for c in merged.contacts] == [True, False, False]
    assert merged.tags == ("vip", "制造", "华东")
    assert merged.created_at == T0 - timedelta(days=5)
    assert merged.tier is Tier.KEY
    assert merged.credit_code == "914403001922038216" and merged.industry == "通信"
    assert merged.address == Address("深圳") and merged.source == "展会"
    assert merged.id == "s" and merged.legal_name == "name s" and merged.owner_id == "rep-a"


def test_survivor_fields_win_over_duplicates() -> None:
    plan = plan_merge(customer("s", industry="制造"), [customer("d", industry="通信")], REP_A)
    assert plan.survivor.industry == "制造"


def test_primary_taken_from_duplicate_when_survivor_has_none() -> None:
    plan = plan_merge(
        customer("s", contacts=(Contact("c1", "A"),)),
        [customer("d", contacts=(Contact("c2", "B", primary=True),))],
        REP_A,
    )
    assert [c.primary for c in plan.survivor.contacts] == [False, True]


def test_tag_union_capped_and_overflow_reported() -> None:
    survivor = customer("s", tags=tuple(f"s{i}" for i in range(MAX_TAGS)))
    plan = plan_merge(survivor, [customer("d", tags=("extra",))], REP_A)
    assert len(plan.survivor.tags) == MAX_TAGS and plan.dropped_tags == ("extra",)


def test_cannot_merge_into_itself() -> None:
    with pytest.raises(ValidationFailed) as exc:
        plan_merge(customer("s"), [customer("s")], REP_A)
    assert exc.value.field == "duplicate_ids"


@pytest.mark.parametrize("dups", [[], [customer("d"), customer("d")]])
def test_bad_duplicate_lists(dups: list[Customer]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        plan_merge(customer("s"), dups, REP_A)
    assert exc.value.field == "duplicate_ids"


def test_different_credit_codes_are_different_companies() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        plan_merge(
            customer("s", credit_code="914403001922038216"), [customer("d", credit_code="91110000600037341L")], REP_A
        )
    assert exc.value.field == "credit_code"


def test_rep_cannot_merge_another_reps_customer() -> None:
    with pytest.raises(PermissionDenied) as exc:
        plan_merge(customer("s"), [customer("d", owner="rep-b", path=PATH_B)], REP_A)
    assert exc.value.field == "duplicate_ids"


def test_rep_cannot_merge_into_another_reps_survivor() -> None:
    with pytest.raises(PermissionDenied) as exc:
        plan_merge(customer("s", owner="rep-b", path=PATH_B), [customer("d")], REP_A)
    assert exc.value.field == "survivor_id"


def test_manager_of_one_team_cannot_merge_across_teams() -> None:
    with pytest.raises(PermissionDenied):
        plan_merge(customer("s"), [customer("d", owner="rep-b", path=PATH_B)], TEAM_A_SUPERVISOR)


def test_manager_over_both_owners_merges_and_old_owner_keeps_read_access() -> None:
    plan = plan_merge(
        customer("s"),
        [customer("d", owner="rep-b", path=PATH_B)],
        BRANCH_MGR,
        shares={
            "s": [Share("x", ShareRole.COLLABORATOR)],
            "d": [Share("x", ShareRole.CO_OWNER), Share("rep-a", ShareRole.COLLABORATOR)],
        },
    )
    assert set(plan.shares) == {Share("x", ShareRole.CO_OWNER), Share("rep-b", ShareRole.COLLABORATOR)}


def test_pool_records_must_be_claimed_first() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        plan_merge(customer("s"), [customer("d", owner=None)], BRANCH_MGR)
    assert exc.value.field == "duplicate_ids"
    with pytest.raises(FailedPrecondition) as exc:
        plan_merge(customer("s", owner=None), [customer("d")], BRANCH_MGR)
    assert exc.value.field == "survivor_id"
