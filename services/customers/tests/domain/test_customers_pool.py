from datetime import datetime, timedelta, UTC

import pytest

from salesgrid_customers.domain.access import Actor
from salesgrid_customers.domain.errors import FailedPrecondition, PermissionDenied, ValidationFailed
from salesgrid_customers.domain.pool import (
    ActivityFacts,
    Claim,
    PoolEntry,
    PoolPolicy,
    ReturnRule,
    check_claim,
    check_release,
    due_for_return,
    due_for_warning,
    local_day_window,
    resolve_policy,
)

UTC = UTC
NOW = datetime(2024, 6, 15, 12, tzinfo=UTC)
POLICY = PoolPolicy(
    max_customers_per_rep=3,
    max_claims_per_day=2,
    reclaim_cooldown_days=7,
    return_after_days_without_follow_up=30,
    return_after_days_without_opportunity=60,
    return_after_days_without_deal=None,
    warning_days_before=3,
)
IN_POOL = PoolEntry("cu1", None, previous_owner_id="old", released_at=NOW - timedelta(days=2))


# ---------------------------------------------------------------- policy


def test_policy_defaults_valid() -> None:
    policy = PoolPolicy()
    assert policy.return_periods()[ReturnRule.NO_FOLLOW_UP] == 30


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_customers_per_rep": 0}, "max_customers_per_rep"),
        ({"max_claims_per_day": -1}, "max_claims_per_day"),
        ({"reclaim_cooldown_days": -1}, "reclaim_cooldown_days"),
        ({"return_after_days_without_follow_up": 0}, "return_after_days_without_follow_up"),
        ({"return_after_days_without_deal": 1.5}, "return_after_days_without_deal"),
        ({"warning_days_before": 30}, "warning_days_before"),
        ({"max_claims_per_day": True}, "max_claims_per_day"),
    ],
)
def test_policy_validation_names_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        PoolPolicy(**kwargs)  # type: ignore[arg-type]
    assert field in {f for f, _ in exc.value.violations}


def test_policy_rules_can_be_switched_off() -> None:
    policy = PoolPolicy(
        return_after_days_without_follow_up=None,
        return_after_days_without_opportunity=None,
        return_after_days_without_deal=None,
        max_customers_per_rep=None,
    )
    assert policy.return_periods() == {}


def test_warning_must_be_shorter_than_shortest_enabled_period() -> None:
    PoolPolicy(return_after_days_without_follow_up=None, warning_days_before=60)
    with pytest.raises(ValidationFailed):
        PoolPolicy(return_after_days_without_follow_up=5, warning_days_before=5)


def test_resolve_policy_nearest_unit_wins() -> None:
    branch, team = PoolPolicy(max_claims_per_day=5), PoolPolicy(max_claims_per_day=1)
    default = PoolPolicy()
    assert resolve_policy(("hq", "br", "t1"), {"br": branch, "t1": team}, default) is team
    assert resolve_policy(("hq", "br", "t2"), {"br": branch, "t1": team}, default) is branch
    assert resolve_policy(("hq", "x"), {"br": branch}, default) is default


# ---------------------------------------------------------------- local day


def test_local_day_window_shanghai() -> None:
    start, end = local_day_window(datetime(2024, 6, 15, 17, tzinfo=UTC), "Asia/Shanghai")  # 01:00 on the 16th
    assert start == datetime(2024, 6, 15, 16, tzinfo=UTC)
    assert end == datetime(2024, 6, 16, 16, tzinfo=UTC)


def test_local_day_window_dst_day_is_23_hours() -> None:
    start, end = local_day_window(datetime(2024, 3, 10, 15, tzinfo=UTC), "America/New_York")
    assert end - start == timedelta(hours=23)
    assert start == datetime(2024, 3, 10, 5, tzinfo=UTC)


def test_local_day_window_bad_zone_and_naive_now() -> None:
    with pytest.raises(ValidationFailed) as exc:
        local_day_window(NOW, "Mars/Olympus")
    assert exc.value.field == "time_zone"
    with pytest.raises(ValidationFailed) as exc:
        local_day_window(datetime(2024, 1, 1), "UTC")
    assert exc.value.field == "now"


# ---------------------------------------------------------------- claim


def test_claim_ok() -> None:
    assert check_claim(IN_POOL, "rep", held_count=2, claims_today=1, policy=POLICY, now=NOW) == Claim("cu1", "rep", NOW)


def test_claim_requires_pool() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        check_claim(PoolEntry("cu1", "someone"), "rep", held_count=0, claims_today=0, policy=POLICY, now=NOW)
    assert exc.value.field == "owner_id"


def test_claim_cap_on_held_customers() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        check_claim(IN_POOL, "rep", held_count=3, claims_today=0, policy=POLICY, now=NOW)
    assert exc.value.field == "max_customers_per_rep"
    assert (exc.value.reason, exc.value.category) == ("POOL_CUSTOMER_CAP", "FAILED_PRECONDITION")
    assert exc.value.info == {"held": "3", "cap": "3"}


def test_claim_cap_per_day() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        check_claim(IN_POOL, "rep", held_count=0, claims_today=2, policy=POLICY, now=NOW)
    assert exc.value.field == "max_claims_per_day"
    assert exc.value.reason == "POOL_DAILY_CLAIMS"
    assert exc.value.info == {"claims_today": "2", "cap": "2"}


def test_caps_off_allow_anything() -> None:
    policy = PoolPolicy(max_customers_per_rep=None, max_claims_per_day=None)
    check_claim(IN_POOL, "rep", held_count=10_000, claims_today=10_000, policy=policy, now=NOW)


def test_previous_owner_cool_down() -> None:
    with pytest.raises(FailedPrecondition) as exc:
        check_claim(IN_POOL, "old", held_count=0, claims_today=0, policy=POLICY, now=NOW)
    assert exc.value.field == "reclaim_cooldown_days"
    assert exc.value.reason == "POOL_RECLAIM_COOLDOWN"
    assert exc.value.info == {"claimable_from": (NOW + timedelta(days=5)).isoformat()}
    # another rep is not affected, and the previous owner may claim once the cool-down ends
    check_claim(IN_POOL, "rep", held_count=0, claims_today=0, policy=POLICY, now=NOW)
    end = IN_POOL.released_at + timedelta(days=7)  # type: ignore[operator]
    check_claim(IN_POOL, "old", held_count=0, claims_today=0, policy=POLICY, now=end)
    with pytest.raises(FailedPrecondition):
        check_claim(IN_POOL, "old", held_count=0, claims_today=0, policy=POLICY, now=end - timedelta(seconds=1))


# ---------------------------------------------------------------- release

PATH = ("hq", "br", "t1")


def test_owner_releases() -> None:
    release = check_release(PoolEntry("cu1", "owner"), PATH, Actor("owner", PATH), NOW, " 不再跟进 ")
    assert release.previous_owner_id == "owner" and release.released_by == "owner" and release.reason == "不再跟进"


def test_manager_releases_for_owner() -> None:
    manager = Actor("m", ("hq", "br"), frozenset({"supervisor"}))
    assert check_release(PoolEntry("cu1", "owner"), PATH, manager, NOW).released_by == "m"


def test_stranger_cannot_release() -> None:
    with pytest.raises(PermissionDenied):
        check_release(PoolEntry("cu1", "owner"), PATH, Actor("x", PATH, frozenset({"rep"})), NOW)


def test_release_of_pool_customer_rejected() -> None:
    with pytest.raises(FailedPrecondition):
        check_release(PoolEntry("cu1", None), PATH, Actor("owner", PATH), NOW)


# ---------------------------------------------------------------- automatic return

ASSIGNED = NOW - timedelta(days=100)


def facts(**kw: object) -> ActivityFacts:
    base: dict[str, object] = {"customer_id": "cu1", "owner_id": "owner", "assigned_at": ASSIGNED}
    base.update(kw)
    return ActivityFacts(**base)  # type: ignore[arg-type]


def test_no_follow_up_returns_after_period() -> None:
    f = facts(last_follow_up_at=NOW - timedelta(days=30), last_opportunity_at=NOW - timedelta(days=1))
    decision = due_for_return(f, POLICY, NOW)
    assert decision is not None
    assert decision.rule is ReturnRule.NO_FOLLOW_UP and decision.due_at == NOW
    assert decision.last_activity_at == NOW - timedelta(days=30)
    assert due_for_return(f, POLICY, NOW - timedelta(seconds=1)) is None


def test_no_opportunity_rule() -> None:
    f = facts(last_follow_up_at=NOW - timedelta(days=1), last_opportunity_at=NOW - timedelta(days=61))
    decision = due_for_return(f, POLICY, NOW)
    assert decision is not None and decision.rule is ReturnRule.NO_OPPORTUNITY


def test_disabled_rule_never_fires() -> None:
    f = facts(last_follow_up_at=NOW, last_opportunity_at=NOW)  # no deal ever, but rule off
    assert due_for_return(f, POLICY, NOW) is None
    deal_policy = PoolPolicy(return_after_days_without_deal=90)
    decision = due_for_return(f, deal_policy, NOW)
    assert decision is not None and decision.rule is ReturnRule.NO_DEAL


def test_period_starts_at_assignment_not_old_activity() -> None:
    # follow-up by the previous owner long ago must not count against the new owner
    f = facts(
        assigned_at=NOW - timedelta(days=10),
        last_follow_up_at=NOW - timedelta(days=200),
        last_opportunity_at=NOW - timedelta(days=200),
    )
    assert due_for_return(f, POLICY, NOW) is None


def test_earliest_rule_reported_and_result_stable() -> None:
    f = facts(last_follow_up_at=NOW - timedelta(days=50), last_opportunity_at=NOW - timedelta(days=90))
    first = due_for_return(f, POLICY, NOW)
    again = due_for_return(f, POLICY, NOW + timedelta(hours=1))
    assert first is not None and again is not None
    assert first.rule is ReturnRule.NO_OPPORTUNITY  # its deadline (30 days ago) precedes follow-up's (20 days ago)
    assert first.idempotency_key == again.idempotency_key


def test_pool_customer_never_due() -> None:
    assert due_for_return(facts(owner_id=None), POLICY, NOW) is None
    assert due_for_warning(facts(owner_id=None), POLICY, NOW) is None


def test_naive_facts_rejected() -> None:
    with pytest.raises(ValidationFailed) as exc:
        due_for_return(facts(last_follow_up_at=datetime(2024, 1, 1)), POLICY, NOW)
    assert exc.value.field == "last_follow_up_at"


def test_warning_window() -> None:
    f = facts(last_follow_up_at=NOW - timedelta(days=27), last_opportunity_at=NOW)
    warning = due_for_warning(f, POLICY, NOW)
    assert warning is not None
    assert warning.rule is ReturnRule.NO_FOLLOW_UP and warning.due_at == NOW + timedelta(days=3)
    assert warning.warn_from == NOW
    assert due_for_warning(f, POLICY, NOW - timedelta(seconds=1)) is None  # too early
    assert due_for_warning(f, POLICY, NOW + timedelta(days=3)) is None  # due: return, not warn
    later = due_for_warning(f, POLICY, NOW + timedelta(days=1))
    assert later is not None and later.idempotency_key == warning.idempotency_key


def test_warning_key_changes_after_new_follow_up() -> None:
    f1 = facts(last_follow_up_at=NOW - timedelta(days=28), last_opportunity_at=NOW)
    f2 = facts(last_follow_up_at=NOW - timedelta(days=27, hours=23), last_opportunity_at=NOW)
    w1, w2 = due_for_warning(f1, POLICY, NOW), due_for_warning(f2, POLICY, NOW)
    assert w1 is not None and w2 is not None and w1.idempotency_key != w2.idempotency_key


def test_warning_off_when_zero_days() -> None:
    policy = PoolPolicy(warning_days_before=0)
    assert due_for_warning(facts(last_follow_up_at=NOW - timedelta(days=29)), policy, NOW) is None


def test_no_rules_no_warning() -> None:
    policy = PoolPolicy(
        return_after_days_without_follow_up=None,
        return_after_days_without_opportunity=None,
        return_after_days_without_deal=None,
    )
    assert due_for_warning(facts(), policy, NOW) is None
    assert due_for_return(facts(), policy, NOW) is None
