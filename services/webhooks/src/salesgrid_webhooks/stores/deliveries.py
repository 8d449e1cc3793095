"""The delivery-log store: the one mapping between `webhook_deliveries` / `webhook_attempts` rows
and the domain Delivery with its attempt log, pages of a subscription's log (attempts loaded in
one batch per page), and the load and save of one delivery."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.errors import NotFound
from salesgrid_common.paging import Page, keyset_page

from salesgrid_webhooks.domain.subscriptions import Attempt, Delivery
from salesgrid_webhooks.models import AttemptRow
from salesgrid_webhooks.models import DeliveryRow as Row


def attempt_from_row(row: AttemptRow) -> Attempt:
    return Attempt(
        attempt=row.attempt, at=row.at, status_code=row.status_code, latency_ms=row.latency_ms, error=row.error
    )


def delivery_from_row(row: Row, log: Sequence[AttemptRow] = ()) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_latency_ms=row.last_latency_ms,
        last_error=row.last_error,
        log=[attempt_from_row(a) for a in log],
    )


async def attempts_of(session: AsyncSession, delivery_ids: list[str]) -> dict[str, list[AttemptRow]]:
    """The attempt rows of many deliveries in one query, each delivery's in attempt order."""
    found: dict[str, list[AttemptRow]] = {}
    if delivery_ids:
        query = select(AttemptRow).where(AttemptRow.delivery_id.in_(delivery_ids)).order_by(AttemptRow.attempt)
        for attempt in (await session.scalars(query)).all():
            found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


async def page(session: AsyncSession, subscription_id: str, status: str, size: int, token: str) -> Page[Delivery]:
    """One page of the subscription's log (newest first), each delivery with its attempts."""
    query = select(Row).where(Row.subscription_id == subscription_id)
    if status:
        query = query.where(Row.status == status)
    found = await keyset_page(session, query, Row.id, size, token)
    log = await attempts_of(session, [d.id for d in found.items])
    return Page([delivery_from_row(d, log.get(d.id, [])) for d in found.items], found.next_token)


async def load(session: AsyncSession, subscription_id: str, delivery_id: str) -> Delivery:
    """One delivery of the subscription's log (NotFound for another subscription's)."""
    row = await session.get(Row, delivery_id)
    if row is None or row.subscription_id != subscription_id:
        raise NotFound(f"delivery {delivery_id!r} does not exist", "delivery_id")
    return delivery_from_row(row)


async def save_schedule(session: AsyncSession, delivery: Delivery) -> Delivery:
    """The delivery's status and next attempt written back (the rest is the dispatcher's)."""
    row = await session.get(Row, delivery.id)
    if row is None:
        raise NotFound(f"delivery {delivery.id!r} does not exist", "delivery_id")
    row.status, row.next_attempt_at = delivery.status, delivery.next_attempt_at
    return delivery_from_row(row)
