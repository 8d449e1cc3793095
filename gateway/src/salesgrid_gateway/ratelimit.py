"""Rate limits per principal across every gateway worker and replica.

Fixed one-minute windows counted in the shared store (NATS key-value, see shared_store): a worker
reserves a batch of requests from the window's shared counter with compare-and-set and serves
them locally, so most requests cost no network round trip, and the sum of all reservations never
passes the limit -- no principal is ever served more than the advertised number per window.
Batches shrink as the window fills (an eighth of what is left, at most a fiftieth of the limit),
so quota parked unused in one worker stays small. Headers follow the IETF draft "RateLimit header
fields for HTTP": `RateLimit-Policy: <limit>;w=60`, `RateLimit: limit=, remaining=, reset=`, and
a refused request is 429 with `Retry-After`. When the store does not answer, requests are refused
(503), never served unlimited."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.shared_store import KvStore, StoreUnavailable

BUCKET = "SALESGRID_RATELIMIT"
WINDOW_SECONDS = 60
TTL_SECONDS = 3 * WINDOW_SECONDS


@dataclass
class _Lease:
    window: int
    tokens: int  # reserved by this worker and not yet used
    shared_used: int  # the window's shared count after the last reservation
    exhausted: bool = False


def batch_size(limit: int, used: int) -> int:
    """How many requests one reservation takes when `used` of `limit` are taken."""
    left = limit - used
    if left <= 0:
        return 0
    return max(1, min(max(1, limit // 50), left // 8))


class SharedRateLimiter:
    def __init__(self, store: KvStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._leases: dict[tuple[str, int], _Lease] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}  # one per principal's lease

    async def hit(self, principal: str, limit: int) -> dict[str, str]:
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
        key = (principal, limit)
        lease = self._leases.get(key)
        if lease is None or lease.window != window:
            lease = self._leases[key] = _Lease(window, 0, 0)
            self._forget_old(window)
        if lease.tokens > 0:  # served from this worker's reservation: no await, no lock
            lease.tokens -= 1
            served = True
        else:
            lock = self._locks.setdefault(key, asyncio.Lock())
            async with lock:  # a reservation's round trip holds up this principal only
                served = await self._take(lease, principal, window, limit)
        remaining = max(0, limit - lease.shared_used + lease.tokens)
        headers = {
            "RateLimit-Policy": f"{limit};w={WINDOW_SECONDS}",
            "RateLimit": f"limit={limit}, remaining={remaining}, reset={reset}",
        }
        if not served:
            raise ApiProblem(
                429,
                f"rate limit of {limit} requests per minute exceeded",
                headers={**headers, "Retry-After": str(reset)},
                code="RATE_LIMITED",
            )
        return headers

    async def _take(self, lease: _Lease, principal: str, window: int, limit: int) -> bool:
        """One request from the lease, reserving more from the shared count when it is empty."""
        if lease.tokens == 0 and not lease.exhausted:
            try:
                granted, used = await self._reserve(principal, window, limit, known=lease.shared_used > 0)
            except StoreUnavailable:
                raise ApiProblem(
                    503,
                    "the rate limiter is unavailable; retry later",
                    headers={"Retry-After": "1"},
                    code="RATE_LIMITER_UNAVAILABLE",
                ) from None
            lease.tokens, lease.shared_used, lease.exhausted = granted, used, granted == 0
        if lease.tokens == 0:
            return False
        lease.tokens -= 1
        return True

    def _forget_old(self, window: int) -> None:
        for stale in [k for k, v in self._leases.items() if v.window < window]:
            del self._leases[stale]
            self._locks.pop(stale, None)

    async def _reserve(self, principal: str, window: int, limit: int, known: bool) -> tuple[int, int]:
        """(granted, shared count after the grant). Under the principal's lock: one reservation
        per principal and worker at a time keeps this worker's share small and the round trips few."""
        store_key = f"{hashlib.sha256(principal.encode()).hexdigest()[:40]}.{window}"
        first = batch_size(limit, 0)
        if not known and await self.store.create(BUCKET, store_key, json.dumps(first).encode()) is not None:
            return first, first  # the window's first reservation: one round trip
        for _ in range(20):
            found = await self.store.get(BUCKET, store_key)
            if found is None:
                if await self.store.create(BUCKET, store_key, json.dumps(first).encode()) is not None:
                    return first, first
                continue
            used = int(json.loads(found[0]))
            grant = batch_size(limit, used)
            if grant == 0:
                return 0, used
            if await self.store.update(BUCKET, store_key, json.dumps(used + grant).encode(), found[1]) is not None:
                return grant, used + grant
        raise StoreUnavailable("rate-limit counter contended beyond retries")
