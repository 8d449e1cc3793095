"""Address throttling rules as plain Python: a throttled address never refuses a login that has
not failed from it, refuses a login that keeps failing, and slows failures progressively."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from salesgrid_identity.domain import throttling
from salesgrid_identity.domain.throttling import AddressHistory, ThrottlePolicy

POLICY = ThrottlePolicy(
    max_failures_per_address=20,
    max_failures_per_pair=3,
    window=timedelta(minutes=15),
    delay_step=timedelta(milliseconds=250),
    max_delay=timedelta(seconds=2),
)
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_login_that_has_not_failed_is_never_refused_however_busy_the_address() -> None:
    for address_failures in (0, 19, 20, 500, 10_000):
        assert not throttling.refuse_before_check(AddressHistory(address_failures, 0), POLICY)
        assert not throttling.refuse_before_check(AddressHistory(address_failures, 2), POLICY)


def test_a_login_failing_repeatedly_is_refused_only_while_the_address_is_throttled() -> None:
    assert not throttling.refuse_before_check(AddressHistory(19, 3), POLICY)  # address below its limit
    assert throttling.refuse_before_check(AddressHistory(20, 3), POLICY)
    assert throttling.refuse_before_check(AddressHistory(21, 19), POLICY)


def test_failures_are_slowed_progressively_once_the_address_is_throttled_and_capped() -> None:
    assert throttling.failure_delay(19, POLICY) == timedelta(0)
    assert throttling.failure_delay(20, POLICY) == timedelta(milliseconds=250)
    assert throttling.failure_delay(23, POLICY) == timedelta(seconds=1)
    assert throttling.failure_delay(1_000, POLICY) == timedelta(seconds=2)


def test_retry_after_is_when_the_oldest_failure_of_the_login_leaves_the_window() -> None:
    history = AddressHistory(25, 3, oldest_pair_failure=NOW - timedelta(minutes=10))
    assert throttling.retry_after(history, POLICY, NOW) == timedelta(minutes=5)
    assert throttling.retry_after(AddressHistory(25, 3, NOW - timedelta(minutes=15)), POLICY, NOW) == timedelta(
        seconds=1
    )
    assert throttling.throttled_until(NOW, POLICY) == NOW + timedelta(minutes=15)
