"""Time-ordered identifiers (UUID version 7, RFC 9562): index-friendly and sortable by creation.

Within one process the ids are strictly increasing (RFC 9562 §6.2, method 3: "monotonic random"):
ids made in the same millisecond, or after the clock stepped back, continue from the previous
id by a random increment instead of drawing fresh random bits. The outbox relay publishes in
event-id order, so two events of one transaction reach consumers in the order they were raised."""

from __future__ import annotations

import os
import threading
import time
import uuid

_RANDOM_BITS = 74  # rand_a (12) + rand_b (62)
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_lock = threading.Lock()
_last_ms = -1
_last_random = 0


def new_id() -> str:
    global _last_ms, _last_random
    unix_ms = time.time_ns() // 1_000_000
    fresh = int.from_bytes(os.urandom(10), "big")
    with _lock:
        if unix_ms > _last_ms:
            random_part = fresh & _RANDOM_MASK
        else:  # same millisecond, or the clock went back: stay after the previous id
            unix_ms = _last_ms
            random_part = _last_random + 1 + (fresh & 0xFFFF)
            if random_part > _RANDOM_MASK:  # the millisecond's space is used up: borrow the next one
                unix_ms += 1
                random_part = fresh & (_RANDOM_MASK >> 1)
        _last_ms, _last_random = unix_ms, random_part
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (random_part >> 62) << 64  # rand_a (12 bits)
    value |= 0b10 << 62  # RFC 4122 variant
    value |= random_part & ((1 << 62) - 1)  # rand_b (62 bits)
    return str(uuid.UUID(int=value))
