"""The bounded expiring map behind the credential caches (verified tokens, exchanged API keys)."""

from __future__ import annotations

import pytest

from salesgrid_common.expiring import ExpiringMap


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_served_until_just_before_its_expiry_and_never_at_it() -> None:
    clock = Clock(100.0)
    cache: ExpiringMap[str, int] = ExpiringMap(10, clock)
    cache.put("k", 1, expires=160.0)
    clock.now = 159.999
    assert cache.get("k") == 1
    clock.now = 160.0
    assert cache.get("k") is None
    assert len(cache) == 0  # the expired entry is dropped when seen


def test_a_full_map_drops_expired_entries_before_live_ones() -> None:
    clock = Clock(100.0)
    cache: ExpiringMap[str, str] = ExpiringMap(3, clock)
    cache.put("live-old", "a", expires=500.0)
    cache.put("short", "b", expires=101.0)
    cache.put("live", "c", expires=500.0)
    clock.now = 102.0
    cache.put("new", "d", expires=500.0)
    assert len(cache) == 3
    assert [cache.get(k) for k in ("live-old", "short", "live", "new")] == ["a", None, "c", "d"]


def test_a_full_map_of_live_entries_drops_the_oldest_and_a_renewed_key_counts_as_new() -> None:
    clock = Clock(0.0)
    cache: ExpiringMap[str, int] = ExpiringMap(2, clock)
    cache.put("a", 1, expires=100.0)
    cache.put("b", 2, expires=100.0)
    cache.put("a", 3, expires=100.0)  # renewed: b is now the oldest; no eviction for a known key
    assert len(cache) == 2 and cache.get("a") == 3 and cache.get("b") == 2
    cache.put("c", 4, expires=100.0)
    assert cache.get("b") is None and cache.get("a") == 3 and cache.get("c") == 4


def test_a_map_must_hold_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ExpiringMap(0, Clock(0.0))
