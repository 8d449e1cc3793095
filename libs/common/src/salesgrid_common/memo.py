"""Bounded memos for the translations a hot read repeats on the same values: a page of twenty
customers read again and again (a manager's list, a rep's own) turns the same stored rows into the
same domain objects and the same protobuf bytes in the service, and the same messages into the
same JSON in the gateway, on every request.

Two keys, both exact, so nothing a memo serves can be stale:
- `ContentMemo` keys by value (a driver's raw row: a tuple of plain values; a message's type and
  serialized bytes): the value computed is a function of the key alone, so a changed row or
  message is a different key.
- `IdentityMemo` keys by the object itself (`is`), for values derived from objects that are not
  hashable by content (a row holding decoded JSON, a domain object holding a dict) and are never
  changed once built. It keeps the object alive while its entry lives, so an `id()` is never
  reused under it.

Both hold at most `max_entries` entries and drop the least recently used first; a memo of
`max_entries` 0 keeps nothing (every lookup misses)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, NoReturn, TypeVar

K = TypeVar("K", bound=Hashable)
O = TypeVar("O")  # noqa: E741 - the object an identity memo is keyed by
V = TypeVar("V")


class ContentMemo(Generic[K, V]):
    """`compute(key)`'s value per key, for keys equal by content; `get` and `put` for a caller that
    computes the value itself (from something the key was made of)."""

    def __init__(self, compute: Callable[[K], V] | None, max_entries: int) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must not be negative")
        self.compute = compute or _no_compute
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()

    def __call__(self, key: K) -> V:
        entries = self._entries
        try:
            value = entries[key]
        except KeyError:
            return self.put(key, self.compute(key))
        entries.move_to_end(key)
        return value

    def get(self, key: K) -> V | None:
        """The value remembered for `key`, if any."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Remember `value` for `key` (dropping the least recently used entry when full)."""
        if self.max_entries:
            entries = self._entries
            if len(entries) >= self.max_entries:
                entries.popitem(last=False)
            entries[key] = value
        return value

    def __len__(self) -> int:
        return len(self._entries)


class IdentityMemo(Generic[O, V]):
    """`compute(obj)`'s value per object (the same object, not an equal one); `get` and `put` for a
    caller that computes the value itself. A content memo keyed by the object's id, whose entry
    holds the object: while it lives, no other live object has that id."""

    def __init__(self, compute: Callable[[O], V] | None, max_entries: int) -> None:
        self.compute = compute or _no_compute
        self._by_id: ContentMemo[int, tuple[O, V]] = ContentMemo(None, max_entries)

    def __call__(self, obj: O) -> V:
        found = self.get(obj)
        if found is None:
            found = self.put(obj, self.compute(obj))
        return found

    def get(self, obj: O) -> V | None:
        """The value remembered for `obj`, if any."""
        entry = self._by_id.get(id(obj))
        return None if entry is None else entry[1]

    def put(self, obj: O, value: V) -> V:
        """Remember `value` for `obj` (dropping the least recently used entry when full)."""
        self._by_id.put(id(obj), (obj, value))
        return value

    def __len__(self) -> int:
        return len(self._by_id)


def _no_compute(obj: object) -> NoReturn:
    raise TypeError("this memo computes nothing: use get and put")
