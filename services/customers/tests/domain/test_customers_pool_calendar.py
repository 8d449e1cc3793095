"""Pool return, its warning and the re-claim cool-down count days on the owner's branch calendar
(same wall time N local days later, also across DST), with UTC as the default."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_customers.domain.pool import (
    ActivityFacts,
    PoolEntry,
    PoolPolicy,
    check_claim,
    due_for_return,
    due_for_warning,
    local_day_window,
)
from salesgrid_customers.domain.errors import FailedPrecondition

import pytest

ZONES = ["Pacific/Kiritimati", "Etc/GMT+12", "America/New_York", "Europe/Berlin", "Asia/Shanghai"]
POLICY = PoolPolicy(
    return_after_days_without_follow_up=30,
    return_after_days_without_opportunity=None,
    return_after_days_without_deal=None,
    warning_days_before=3,
    reclaim_cooldown_days=30,
)


@settings(max_examples=200, deadline=None)
@given(
    assigned=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
)
def test_return_is_due_30_local_days_after_and_warned_3_local_days_before(assigned: datetime, zone: str) -> None:
    facts = ActivityFacts("cu1", "owner", assigned)
    decision = None
    probe = assigned + timedelta(days=29)
    while decision is None:  # the first instant it is due, found by hours
        probe += timedelta(hours=1)
        decision = due_for_return(facts, POLICY, probe, zone)
    due_local, start_local = decision.due_at.astimezone(ZoneInfo(zone)), assigned.astimezone(ZoneInfo(zone))
    if due_local.time() == start_local.time():
        assert due_local.date() == start_local.date() + timedelta(days=30)
    assert due_for_return(facts, POLICY, decision.due_at - timedelta(seconds=1), zone) is None
    warning = due_for_warning(facts, POLICY, decision.due_at - timedelta(seconds=1), zone)
    assert warning is not None and warning.due_at == decision.due_at
    assert warning.warn_from.astimezone(ZoneInfo(zone)).date() <= due_local.date() - timedelta(days=3)


def test_cool_down_across_berlins_spring_change() -> None:
    released = datetime(2026, 3, 15, 9, 0, tzinfo=UTC)  # 10:00 CET
    entry = PoolEntry("cu1", None, previous_owner_id="rep", released_at=released)
    until = datetime(2026, 4, 14, 8, 0, tzinfo=UTC)  # 10:00 CEST, 30 local days later
    with pytest.raises(FailedPrecondition):
        check_claim(
            entry,
            "rep",
            held_count=0,
            claims_today=0,
            policy=POLICY,
            now=until - timedelta(seconds=1),
            zone_name="Europe/Berlin",
        )
    assert (
        check_claim(
            entry, "rep", held_count=0, claims_today=0, policy=POLICY, now=until, zone_name="Europe/Berlin"
        ).new_owner_id
        == "rep"
    )


def test_claims_per_day_are_counted_in_the_local_day() -> None:
    start, end = local_day_window(datetime(2026, 3, 2, 10, 30, tzinfo=UTC), "Pacific/Kiritimati")
    assert (start, end) == (datetime(2026, 3, 2, 10, 0, tzinfo=UTC), datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
