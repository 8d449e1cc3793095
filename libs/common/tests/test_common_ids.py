"""Ids are UUIDv7 and strictly increasing within a process, even when many are made in one
millisecond or the clock steps back (the outbox publishes in id order)."""

from __future__ import annotations

import uuid

import pytest

from salesgrid_common import ids


def test_ids_made_in_a_burst_are_strictly_increasing_uuid7() -> None:
    made = [ids.new_id() for _ in range(20_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in made[:100])


def test_a_clock_stepping_back_does_not_reorder(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [2_000_000_000_000 * 1_000_000]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    first = ids.new_id()
    now[0] -= 5_000 * 1_000_000  # five seconds back (an NTP step)
    second = ids.new_id()
    now[0] += 10_000 * 1_000_000
    third = ids.new_id()
    assert first < second < third
    assert uuid.UUID(third).int >> 80 == now[0] // 1_000_000  # back on the real clock once it passes


def test_a_used_up_millisecond_borrows_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ids.time, "time_ns", lambda: 3_000_000_000_000 * 1_000_000)
    ids.new_id()
    monkeypatch.setattr(ids, "_last_random", ids._RANDOM_MASK - 1)
    before_ms = ids._last_ms
    nxt = ids.new_id()
    assert uuid.UUID(nxt).int >> 80 == before_ms + 1
