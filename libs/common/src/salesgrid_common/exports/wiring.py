"""Plugging export jobs into a service: one ExportJobs per process (in ctx.extras), its servicer,
and the runner and retention sweep as background jobs."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from datetime import timedelta
from typing import Any

from salesgrid_common.exports.jobs import Exporter, ExportJobs
from salesgrid_common.scheduling import every
from salesgrid_common.service_context import ServiceContext

RUN_SECONDS = 2.0  # pause between runs (a run empties the queue)
PURGE_SECONDS = 600.0


def export_jobs(
    ctx: ServiceContext, service: str, exporters: Sequence[Exporter], retention: timedelta = timedelta(hours=24)
) -> ExportJobs:
    if "exports" not in ctx.extras:
        ctx.extras["exports"] = ExportJobs(
            service, ctx.sessions, ctx.reader, ctx.outbox, ctx.clock, exporters, retention=retention
        )
    return ctx.extras["exports"]  # type: ignore[no-any-return]


def export_background(jobs: ExportJobs, run_seconds: float = RUN_SECONDS) -> list[Coroutine[Any, Any, None]]:
    return [
        every(run_seconds, jobs.run_all, "exports written"),
        every(PURGE_SECONDS, jobs.purge_expired, "expired exports deleted"),
    ]
