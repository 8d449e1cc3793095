"""Periodic jobs inside a service process (SLA scans, pool returns, reminders): each job reads
time from the injected clock and is idempotent, so a missed or repeated tick is harmless."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def every(interval_seconds: float, job: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run `job` now and then every `interval_seconds`; a failed run is logged and retried at the
    next tick (a database blip must not end the scheduler)."""
    while True:
        try:
            done = await job()
            if done:
                log.info(what, extra={"result": done})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job failed: %s", what)
        await asyncio.sleep(interval_seconds)
