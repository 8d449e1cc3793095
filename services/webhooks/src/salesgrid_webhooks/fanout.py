"""From the bus to the delivery table: one durable consumer per producer stream turns each event
into one pending delivery per enabled subscription that names its type and whose owner could
read the record -- in the consumer's inbox transaction, so an event becomes deliveries exactly
once, and nothing is sent from any request path. Identity's events about a subscription's owner
(deactivated, roles or unit changed, API key revoked, the key's unit deactivated) and an API
key's expiry stop its deliveries until the owner, with his current access, re-enables it."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid.events.v1.identity_events_pb2 import ApiKeyRevoked, OrgUnitState, UserState
from salesgrid_common.clock import Clock
from salesgrid_common.directory import move_subtree
from salesgrid_common.events.batches import Item
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.ids import new_id
from salesgrid_common.protos import from_timestamp

from salesgrid_webhooks.domain import events
from salesgrid_webhooks.models import Base, DeliveryRow, SubscriptionRow


def body_for(envelope: Envelope) -> str:
    """The Standard Webhooks payload: type, timestamp and a thin `data` naming the record."""
    aggregate = envelope.type.split(".")[2]
    return json.dumps(
        {
            "type": envelope.type,
            "timestamp": from_timestamp(envelope.occurred_at).isoformat().replace("+00:00", "Z"),
            "data": {
                "event_id": envelope.event_id,
                "object": aggregate,
                "id": envelope.aggregate_id,
                "actor_id": envelope.actor_id,
            },
        },
        separators=(",", ":"),
    )


SUBSCRIPTIONS = Base.metadata.tables[SubscriptionRow.__tablename__]
_DELIVERIES = DeliveryRow.__table__
# Built once, Core (no ORM instances: every event of every producer runs this query, and loading
# the subscriptions as ORM rows cost twice the statement): what the fan-out decides with.
_ENABLED = select(
    SUBSCRIPTIONS.c.id,
    SUBSCRIPTIONS.c.event_types,
    SUBSCRIPTIONS.c.owner_expires_at,
    SUBSCRIPTIONS.c.permissions,
    SUBSCRIPTIONS.c.org_path,
).where(SUBSCRIPTIONS.c.enabled.is_(True))
_INSERT_DELIVERIES = insert(_DELIVERIES)
_STOP_EXPIRED = (
    update(SUBSCRIPTIONS)
    .where(SUBSCRIPTIONS.c.id.in_(bindparam("ids", expanding=True)), SUBSCRIPTIONS.c.enabled.is_(True))
    .values(enabled=False, disabled_reason=bindparam("reason"), version=SUBSCRIPTIONS.c.version + 1)
)


async def fan_out(session: AsyncSession, envelope: Envelope, clock: Clock) -> int:
    return await fan_out_many(session, [envelope], clock)


async def fan_out_many(session: AsyncSession, envelopes: Sequence[Envelope], clock: Clock) -> int:
    """Each event's pending deliveries, in order, with the enabled subscriptions read once for
    all of them (a consumer's run of events) and the deliveries written in one insert; a
    subscription whose API key has expired is disabled (one new version) at its first event and
    gets nothing. Returns the deliveries added."""
    subs = (await session.execute(_ENABLED)).all()
    if not subs:
        return 0
    now = clock()
    expired: list[str] = []
    deliveries: list[dict[str, object]] = []
    for envelope in envelopes:
        body = None
        for sub in subs:
            if not events.matches(sub.event_types, envelope.type):
                continue
            if sub.owner_expires_at is not None and sub.owner_expires_at <= now:
                if sub.id not in expired:
                    expired.append(sub.id)  # its key opens nothing any more
                continue
            if not events.visible(sub.permissions, sub.org_path, envelope.type, envelope.org_path):
                continue
            body = body or body_for(envelope)
            at = clock()
            deliveries.append(
                {
                    "id": new_id(),
                    "subscription_id": sub.id,
                    "event_id": envelope.event_id,
                    "event_type": envelope.type,
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                    "last_status_code": 0,
                    "last_latency_ms": 0,
                    "last_error": "",
                    "created_at": at,
                    "delivered_at": None,
                }
            )
    if expired:
        await session.execute(_STOP_EXPIRED, {"ids": expired, "reason": KEY_EXPIRED})
    if deliveries:
        await session.execute(_INSERT_DELIVERIES, deliveries)
    return len(deliveries)


async def _stop_owner(session: AsyncSession, owner_id: str, reason: str) -> None:
    await session.execute(
        update(SubscriptionRow)
        .where(SubscriptionRow.owner_id == owner_id, SubscriptionRow.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, version=SubscriptionRow.version + 1)
    )


KEY_EXPIRED = "the owning API key expired"


def subscriptions(clock: Clock) -> Sequence[Subscription]:
    async def deliver(session: AsyncSession, envelope: Envelope, _payload: bytes) -> None:
        await fan_out(session, envelope, clock)

    async def deliver_many(session: AsyncSession, items: list[Item]) -> None:
        await fan_out_many(session, [envelope for envelope, _ in items], clock)

    subs = []
    for producer in events.PRODUCERS:
        sub = Subscription(name=f"webhooks-fanout-{producer}", producer=producer)
        sub.on_any(deliver)
        sub.on_any_batch(deliver_many)
        subs.append(sub)

    owners = Subscription(name="webhooks-owners", producer="identity")

    @owners.on("salesgrid.identity.api_key.revoked", ApiKeyRevoked)
    async def key_revoked(session: AsyncSession, _envelope: Envelope, payload: ApiKeyRevoked) -> None:
        await _stop_owner(session, payload.api_key_id, "the owning API key was revoked")

    @owners.on("salesgrid.identity.org_unit.deactivated", OrgUnitState)
    async def unit_closed(session: AsyncSession, _envelope: Envelope, unit: OrgUnitState) -> None:
        """A key of a deactivated unit opens nothing (identity refuses it): its subscriptions stop."""
        await session.execute(
            update(SubscriptionRow)
            .where(
                SubscriptionRow.owner_kind == "api_key",
                SubscriptionRow.org_path == unit.path,
                SubscriptionRow.enabled.is_(True),
            )
            .values(
                enabled=False,
                disabled_reason="the owning API key's unit was deactivated",
                version=SubscriptionRow.version + 1,
            )
        )

    @owners.on("salesgrid.identity.org_unit.moved", OrgUnitState)
    async def unit_moved(session: AsyncSession, _envelope: Envelope, unit: OrgUnitState) -> None:
        """Owners' unit paths follow a moved unit (as identity's own do), so each subscription
        keeps reading the subtree its owner reads, under its new path."""
        if unit.previous_path and unit.previous_path != unit.path:
            await move_subtree(session, SUBSCRIPTIONS, "org_path", unit.previous_path, unit.path)

    async def user_changed(session: AsyncSession, _envelope: Envelope, payload: UserState) -> None:
        if not payload.active:
            await _stop_owner(session, payload.user_id, "the owner was deactivated")
            return
        for sub in (
            await session.scalars(
                select(SubscriptionRow).where(
                    SubscriptionRow.owner_id == payload.user_id, SubscriptionRow.enabled.is_(True)
                )
            )
        ).all():
            if sorted(sub.owner_roles) != sorted(payload.roles) or sub.org_path != payload.org_path:
                sub.enabled, sub.disabled_reason = False, "the owner's roles or unit changed; re-enable to confirm"
                sub.version += 1

    for verb in ("updated", "moved", "deactivated"):
        owners.on(f"salesgrid.identity.user.{verb}", UserState)(user_changed)
    return [*subs, owners]
