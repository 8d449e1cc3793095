"""State shared by every gateway worker and replica (idempotency records, rate-limit counters),
kept in NATS JetStream key-value buckets: the cluster already runs NATS, the buckets expire their
entries by themselves (bucket TTL) and compare-and-set (`create`, `update(last=revision)`) gives
the atomicity both uses need.

The gateway is synchronous Flask under gunicorn; each worker process owns one background thread
running an asyncio loop with one NATS connection, and handler threads submit coroutines to it
(`run_coroutine_threadsafe`), so a call costs one network round trip and no connection set-up.
The loop starts lazily in the worker (after gunicorn's fork) and restarts if the process forked.

`MemoryStore` has the same interface for a gateway run without NATS (SALESGRID_NATS_URL empty):
state then holds per process only, which is refused outside dev and tests."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """The shared store did not answer in time; callers fail closed."""


class KvStore(Protocol):
    def get(self, bucket: str, key: str) -> tuple[bytes, int] | None: ...
    def create(self, bucket: str, key: str, value: bytes) -> int | None: ...
    def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None: ...
    def delete(self, bucket: str, key: str) -> None: ...


class NatsKvStore:
    """Sync facade over nats-py KV. Buckets: name -> TTL in seconds."""

    def __init__(self, url: str, buckets: dict[str, float], *, replicas: int = 1, timeout: float = 2.0) -> None:
        self.url = url
        self.buckets = buckets
        self.replicas = replicas
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pid = -1
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Any = None
        self._kv: dict[str, Any] = {}
        self._streams: set[str] = set()  # streams declared on this connection

    # -- the worker's loop ---------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="shared-store", daemon=True).start()
                self._loop, self._pid, self._nc, self._kv, self._streams = loop, os.getpid(), None, {}, set()
            return self._loop

    async def _bucket(self, name: str) -> Any:
        kv = self._kv.get(name)
        if kv is not None:
            return kv
        import nats
        from nats.js.api import KeyValueConfig, StorageType
        from nats.js.errors import BucketNotFoundError

        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(
                self.url,
                connect_timeout=self.timeout,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
                name=f"gateway-{os.getpid()}",
            )
        js = self._nc.jetstream()
        try:
            kv = await js.key_value(name)
        except BucketNotFoundError:
            kv = await js.create_key_value(
                KeyValueConfig(
                    bucket=name,
                    ttl=self.buckets[name],
                    history=1,
                    storage=StorageType.FILE,
                    replicas=self.replicas,
                    max_value_size=1 << 20,
                )
            )
        self._kv[name] = kv
        return kv

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = self._ensure_loop()
        future = asyncio.run_coroutine_threadsafe(make(), loop)  # type: ignore[arg-type]
        try:
            return future.result(self.timeout)
        except TimeoutError:
            future.cancel()
            raise StoreUnavailable("the shared store (NATS key-value) did not answer in time") from None
        except StoreUnavailable:
            raise
        except Exception as error:
            log.warning("shared store error: %r", error)
            raise StoreUnavailable(f"the shared store (NATS key-value) failed: {error!r}") from None

    def close(self) -> None:
        """Drain the connection and stop the loop (tests; a worker just exits)."""
        with self._lock:
            loop, nc, self._loop, self._nc, self._kv = self._loop, self._nc, None, None, {}
        if loop is None:
            return
        if nc is not None and not nc.is_closed:
            try:
                asyncio.run_coroutine_threadsafe(nc.close(), loop).result(self.timeout)
            except Exception:
                pass
        loop.call_soon_threadsafe(loop.stop)

    # -- operations -----------------------------------------------------------------------------
    def get(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        async def op() -> tuple[bytes, int] | None:
            from nats.js.errors import KeyNotFoundError

            kv = await self._bucket(bucket)
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:  # also deleted / purged keys
                return None
            return (entry.value or b""), entry.revision

        return self._run(op)

    def create(self, bucket: str, key: str, value: bytes) -> int | None:
        async def op() -> int | None:
            from nats.js.errors import KeyWrongLastSequenceError

            kv = await self._bucket(bucket)
            try:
                return int(await kv.create(key, value))
            except KeyWrongLastSequenceError:
                return None

        return self._run(op)

    def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None:
        async def op() -> int | None:
            from nats.js.errors import KeyWrongLastSequenceError

            kv = await self._bucket(bucket)
            try:
                return int(await kv.update(key, value, last=revision))
            except KeyWrongLastSequenceError:
                return None

        return self._run(op)

    def delete(self, bucket: str, key: str) -> None:
        async def op() -> None:
            kv = await self._bucket(bucket)
            await kv.delete(key)

        self._run(op)

    def publish(
        self, stream: str, declare: Callable[[Any], Awaitable[None]], subject: str, data: bytes, headers: dict[str, str]
    ) -> None:
        """Publish to JetStream and wait for the stream's acknowledgement (the message is then
        stored). `declare` declares the stream named `stream`, once per connection."""

        async def op() -> None:
            await self._bucket(next(iter(self.buckets)))  # connects
            js = self._nc.jetstream()
            if stream not in self._streams:
                await declare(js)
                self._streams.add(stream)
            await js.publish(subject, data, headers=headers)

        self._run(op)


class MemoryStore:
    """Per-process stand-in with the same compare-and-set semantics (dev/tests without NATS)."""

    def __init__(self, buckets: dict[str, float]) -> None:
        self.buckets = buckets
        self._data: dict[tuple[str, str], tuple[bytes, int, float]] = {}
        self._revision = 0
        self._lock = threading.Lock()

    def _live(self, bucket: str, key: str) -> tuple[bytes, int, float] | None:
        item = self._data.get((bucket, key))
        if item and time.monotonic() - item[2] > self.buckets[bucket]:
            del self._data[(bucket, key)]
            return None
        return item

    def _put(self, bucket: str, key: str, value: bytes) -> int:
        self._revision += 1
        self._data[(bucket, key)] = (value, self._revision, time.monotonic())
        return self._revision

    def get(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        with self._lock:
            item = self._live(bucket, key)
            return (item[0], item[1]) if item else None

    def create(self, bucket: str, key: str, value: bytes) -> int | None:
        with self._lock:
            return None if self._live(bucket, key) else self._put(bucket, key, value)

    def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None:
        with self._lock:
            item = self._live(bucket, key)
            if item is None or item[1] != revision:
                return None
            return self._put(bucket, key, value)

    def delete(self, bucket: str, key: str) -> None:
        with self._lock:
            self._data.pop((bucket, key), None)


def shared_store(settings: Any) -> KvStore:
    """The store for a gateway's settings (see GatewaySettings.nats_url)."""
    from salesgrid_gateway import idempotency, ratelimit

    buckets = {idempotency.BUCKET: idempotency.TTL_SECONDS, ratelimit.BUCKET: ratelimit.TTL_SECONDS}
    if not settings.nats_url:
        return MemoryStore(buckets)
    return NatsKvStore(
        settings.nats_url, buckets, replicas=settings.stream_replicas, timeout=settings.shared_store_timeout_seconds
    )
