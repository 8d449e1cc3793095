"""The delivery log's retention: finished deliveries (succeeded, or failed for good) and their
attempts are deleted once older than `SALESGRID_DELIVERY_LOG_RETENTION_DAYS` (30 days), so the
log -- which keeps each delivery's body -- does not grow without bound. Pending deliveries are
never deleted, however old (a disabled subscription's wait for its owner to re-enable it)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory

from salesgrid_webhooks.models import AttemptRow, DeliveryRow

FINISHED = ("succeeded", "failed")
BATCH = 1000


async def purge_delivery_log(sessions: SessionFactory, clock: Clock, retention: timedelta) -> int:
    """Delete finished deliveries created before now - retention, a batch per transaction;
    returns how many."""
    cutoff = clock() - retention
    total = 0
    while True:
        async with sessions() as session, session.begin():
            ids = (
                await session.scalars(
                    select(DeliveryRow.id)
                    .where(DeliveryRow.status.in_(FINISHED), DeliveryRow.created_at < cutoff)
                    .order_by(DeliveryRow.id)
                    .limit(BATCH)
                    .with_for_update()  # a redelivery of one of them waits, then finds it gone
                )
            ).all()
            if ids:
                await session.execute(delete(AttemptRow).where(AttemptRow.delivery_id.in_(ids)))
                await session.execute(delete(DeliveryRow).where(DeliveryRow.id.in_(ids)))
        total += len(ids)
        if len(ids) < BATCH:
            return total
