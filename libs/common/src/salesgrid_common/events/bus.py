"""NATS JetStream connection, stream declaration and the publisher the relay uses."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig, StreamSource
from nats.js.errors import BadRequestError, NotFoundError

from salesgrid_common.events.envelope import aggregate_stream_name, stream_name, stream_subjects

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_SECONDS = 120.0


async def connect(url: str, name: str) -> NATS:
    async def on_error(exc: Exception) -> None:
        log.warning("nats error", extra={"error": str(exc)})

    # A cluster is given as comma-separated URLs: the client fails over between them.
    servers = [part.strip() for part in url.split(",") if part.strip()]
    return await nats.connect(servers, name=name, error_cb=on_error, max_reconnect_attempts=-1, reconnect_time_wait=0.5)


def stream_config(service: str, replicas: int, region: str = "") -> StreamConfig:
    return StreamConfig(
        name=stream_name(service, region),
        subjects=stream_subjects(service, region),
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
    )


async def ensure_stream(js: JetStreamContext, service: str, replicas: int, region: str = "") -> None:
    """Declare a service's stream, idempotently (create, or update to the declared config)."""
    await _declare(js, stream_config(service, replicas, region))


def aggregate_config(service: str, regions: list[str], replicas: int) -> StreamConfig:
    """A subject-less stream sourcing one service's stream of every region (HQ read models)."""
    return StreamConfig(
        name=aggregate_stream_name(service),
        sources=[StreamSource(name=stream_name(service, region)) for region in regions],
        storage=StorageType.FILE,
        num_replicas=replicas,
    )


async def ensure_aggregate_stream(js: JetStreamContext, service: str, regions: list[str], replicas: int) -> None:
    await _declare(js, aggregate_config(service, regions, replicas))


async def _declare(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(config.name)  # type: ignore[arg-type]  # our configs always name the stream
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:
            pass  # another replica created it first
    await js.update_stream(config)


class JetStreamPublisher:
    def __init__(self, js: JetStreamContext, timeout: float = 5.0) -> None:
        self.js = js
        self.timeout = timeout

    async def publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        # Raises unless JetStream stored the message (or recognised it as a duplicate).
        await self.js.publish(subject, payload, timeout=self.timeout, headers=headers)
