"""A rep's standing under the pool policy agrees with what check_claim would decide: caps left,
and the cool-downs of customers he released himself, counted on his branch calendar."""

from datetime import UTC, datetime, timedelta

import pytest
from salesgrid_customers.domain.errors import FailedPrecondition
from salesgrid_customers.domain.pool import PoolEntry, PoolPolicy, check_claim
from salesgrid_customers.domain.pool_standing import Released, standing

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
POLICY = PoolPolicy(max_customers_per_rep=5, max_claims_per_day=2, reclaim_cooldown_days=7)


def test_caps_left_and_no_cap() -> None:
    mine = standing(POLICY, "t1", held_count=3, claims_today=2, released=[], now=NOW, zone_name="Asia/Shanghai")
    assert (mine.customers_left, mine.claims_left_today, mine.can_claim) == (2, 0, False)
    over = standing(POLICY, "t1", held_count=9, claims_today=0, released=[], now=NOW, zone_name="Asia/Shanghai")
    assert (over.customers_left, over.claims_left_today, over.can_claim) == (0, 2, False)
    free = PoolPolicy(max_customers_per_rep=None, max_claims_per_day=None)
    open_ = standing(free, "", held_count=900, claims_today=90, released=[], now=NOW, zone_name="UTC")
    assert (open_.customers_left, open_.claims_left_today, open_.can_claim) == (None, None, True)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "UTC"])
def test_cool_downs_still_running_soonest_first_and_as_check_claim_decides(zone: str) -> None:
    released = [
        Released("old", "Old Ltd", NOW - timedelta(days=8)),
        Released("late", "Late Ltd", NOW - timedelta(days=1)),
        Released("soon", "Soon Ltd", NOW - timedelta(days=6)),
    ]
    mine = standing(POLICY, "t1", held_count=0, claims_today=0, released=released, now=NOW, zone_name=zone)
    assert [c.customer_id for c in mine.cool_downs] == ["soon", "late"]
    for item in released:
        entry = PoolEntry(item.customer_id, None, "rep", item.released_at)
        cooling = next((c for c in mine.cool_downs if c.customer_id == item.customer_id), None)
        if cooling is None:
            check_claim(entry, "rep", held_count=0, claims_today=0, policy=POLICY, now=NOW, zone_name=zone)
            continue
        with pytest.raises(FailedPrecondition):
            check_claim(entry, "rep", held_count=0, claims_today=0, policy=POLICY, now=NOW, zone_name=zone)
        # From the announced instant on, the claim passes.
        check_claim(
            entry, "rep", held_count=0, claims_today=0, policy=POLICY, now=cooling.claimable_from, zone_name=zone
        )
