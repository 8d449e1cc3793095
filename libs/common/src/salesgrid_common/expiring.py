"""A bounded map whose entries expire: the one shape of every per-process cache of credentials
(verified tokens in every service, exchanged API keys in the gateway). An entry is never served at
or after its expiry; when full, expired entries are dropped first and then the oldest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    def __init__(self, max_entries: int, clock: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self.clock() >= expires:
            self._entries.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V, expires: float) -> None:
        """Keep `value` under `key` until the clock reaches `expires`."""
        if key not in self._entries and len(self._entries) >= self.max_entries:
            now = self.clock()
            for stale in [k for k, (_, exp) in self._entries.items() if exp <= now]:
                del self._entries[stale]
            while len(self._entries) >= self.max_entries:  # still full: drop the oldest
                del self._entries[next(iter(self._entries))]
        self._entries.pop(key, None)  # a renewed entry counts as the newest
        self._entries[key] = (value, expires)

    def __len__(self) -> int:
        return len(self._entries)
