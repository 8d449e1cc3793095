"""State shared by every gateway worker and replica (idempotency records, rate-limit counters),
kept in NATS JetStream key-value buckets: the cluster already runs NATS, the buckets expire their
entries by themselves (bucket TTL) and compare-and-set (`create`, `update(last=revision)`) gives
the atomicity both uses need.

Each gateway worker process holds one NATS connection, made on first use on the worker's event
loop, so an operation costs one network round trip and no connection set-up.

`MemoryStore` has the same interface for a gateway run without NATS (SALESGRID_NATS_URL empty):
state then holds per process only, which is refused outside dev and tests."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """The shared store did not answer in time; callers fail closed."""


class KvStore(Protocol):
    async def get(self, bucket: str, key: str) -> tuple[bytes, int] | None: ...
    async def create(self, bucket: str, key: str, value: bytes) -> int | None: ...
    async def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None: ...
    async def delete(self, bucket: str, key: str) -> None: ...


class NatsKvStore:
    """nats-py KV on the worker's event loop. Buckets: name -> TTL in seconds."""

    def __init__(self, url: str, buckets: dict[str, float], *, replicas: int = 1, timeout: float = 2.0) -> None:
        self.url = url
        self.buckets = buckets
        self.replicas = replicas
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        self._nc: Any = None
        self._kv: dict[str, Any] = {}
        self._streams: set[str] = set()  # streams declared on this connection
        self._jetstream: tuple[Any, Any] = (None, None)  # (connection, its JetStream context)

    async def _connection(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (a test's): the old connection belongs to the old one
            self._loop, self._connecting, self._nc, self._kv, self._streams = loop, asyncio.Lock(), None, {}, set()
        assert self._connecting is not None
        async with self._connecting:
            if self._nc is None or self._nc.is_closed:
                import nats

                self._nc = await nats.connect(
                    self.url,
                    connect_timeout=self.timeout,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    name=f"gateway-{os.getpid()}",
                )
                self._kv, self._streams = {}, set()
        return self._nc

    async def _bucket(self, name: str) -> Any:
        nc = await self._connection()
        kv = self._kv.get(name)
        if kv is not None:
            return kv
        from nats.js.api import KeyValueConfig, StorageType
        from nats.js.errors import BucketNotFoundError

        js = nc.jetstream()
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

    async def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.timeout):  # unlike wait_for, no task per operation
                return await make()
        except TimeoutError:
            raise StoreUnavailable("the shared store (NATS key-value) did not answer in time") from None
        except StoreUnavailable:
            raise
        except Exception as error:
            log.warning("shared store error: %r", error)
            raise StoreUnavailable(f"the shared store (NATS key-value) failed: {error!r}") from None

    async def close(self) -> None:
        """Close the connection (tests, and a worker shutting down)."""
        nc, self._nc, self._kv, self._loop = self._nc, None, {}, None
        if nc is not None and not nc.is_closed:
            try:
                await asyncio.wait_for(nc.close(), self.timeout)
            except Exception:
                pass

    # -- operations -----------------------------------------------------------------------------
    async def get(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        async def op() -> tuple[bytes, int] | None:
            from nats.js.errors import KeyNotFoundError

            kv = await self._bucket(bucket)
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:  # also deleted / purged keys
                return None
            return (entry.value or b""), entry.revision

        return await self._run(op)

    async def create(self, bucket: str, key: str, value: bytes) -> int | None:
        async def op() -> int | None:
            from nats.js.errors import KeyWrongLastSequenceError

            kv = await self._bucket(bucket)
            try:
                return int(await kv.create(key, value))
            except KeyWrongLastSequenceError:
                return None

        return await self._run(op)

    async def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None:
        async def op() -> int | None:
            from nats.js.errors import KeyWrongLastSequenceError

            kv = await self._bucket(bucket)
            try:
                return int(await kv.update(key, value, last=revision))
            except KeyWrongLastSequenceError:
                return None

        return await self._run(op)

    async def delete(self, bucket: str, key: str) -> None:
        async def op() -> None:
            kv = await self._bucket(bucket)
            await kv.delete(key)

        await self._run(op)

    async def publish(
        self, stream: str, declare: Callable[[Any], Awaitable[None]], subject: str, data: bytes, headers: dict[str, str]
    ) -> None:
        """Publish to JetStream and wait for the stream's acknowledgement (the message is then
        stored). `declare` declares the stream named `stream`, once per connection."""

        async def op() -> None:
            nc = await self._connection()
            if self._jetstream[0] is not nc:  # one context per connection, not one per publish
                self._jetstream = (nc, nc.jetstream())
            js = self._jetstream[1]
            if stream not in self._streams:
                await declare(js)
                self._streams.add(stream)
            await js.publish(subject, data, headers=headers)

        await self._run(op)


class MemoryStore:
    """Per-process stand-in with the same compare-and-set semantics (dev/tests without NATS); each
    operation runs without awaiting, so it is atomic on the worker's event loop."""

    def __init__(self, buckets: dict[str, float]) -> None:
        self.buckets = buckets
        self._data: dict[tuple[str, str], tuple[bytes, int, float]] = {}
        self._revision = 0

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

    async def get(self, bucket: str, key: str) -> tuple[bytes, int] | None:
        item = self._live(bucket, key)
        return (item[0], item[1]) if item else None

    async def create(self, bucket: str, key: str, value: bytes) -> int | None:
        return None if self._live(bucket, key) else self._put(bucket, key, value)

    async def update(self, bucket: str, key: str, value: bytes, revision: int) -> int | None:
        item = self._live(bucket, key)
        if item is None or item[1] != revision:
            return None
        return self._put(bucket, key, value)

    async def delete(self, bucket: str, key: str) -> None:
        self._data.pop((bucket, key), None)


def shared_store(settings: Any, buckets: dict[str, int]) -> KvStore:
    """The store for a gateway's settings (see GatewaySettings.nats_url), holding `buckets` (name ->
    the seconds an entry lives), which its users declare (idempotency, ratelimit)."""
    if not settings.nats_url:
        return MemoryStore(buckets)
    return NatsKvStore(
        settings.nats_url, buckets, replicas=settings.stream_replicas, timeout=settings.shared_store_timeout_seconds
    )
