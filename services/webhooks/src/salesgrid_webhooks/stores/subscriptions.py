"""The subscription store: the one mapping between a `webhook_subscriptions` row and the domain
Subscription (`subscription_from_row` / `subscription_to_row`), its insert, the load in the
caller's scope (locked for a change, at the version the caller read), the versioned save, and the
subscriptions a caller may read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied

from salesgrid_webhooks.domain.subscriptions import OwnerScope, Subscription
from salesgrid_webhooks.models import SubscriptionRow as Row


def subscription_from_row(row: Row) -> Subscription:
    return Subscription(
        id=row.id,
        owner_id=row.owner_id,
        owner_kind=row.owner_kind,
        url=row.url,
        description=row.description,
        event_types=list(row.event_types),
        secret=row.secret,
        created_at=row.created_at,
        scope=OwnerScope(
            org_path=row.org_path,
            permissions=dict(row.permissions),
            roles=list(row.owner_roles),
            responsible_id=row.responsible_id,
            expires_at=row.owner_expires_at,
        ),
        previous_secret=row.previous_secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        deleted=row.deleted,
        version=row.version,
    )


def subscription_to_row(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "owner_id": sub.owner_id,
        "owner_kind": sub.owner_kind,
        "org_path": sub.scope.org_path,
        "permissions": dict(sub.scope.permissions),
        "owner_roles": list(sub.scope.roles),
        "responsible_id": sub.scope.responsible_id,
        "owner_expires_at": sub.scope.expires_at,
        "url": sub.url,
        "description": sub.description,
        "event_types": list(sub.event_types),
        "secret": sub.secret,
        "previous_secret": sub.previous_secret,
        "previous_secret_expires_at": sub.previous_secret_expires_at,
        "enabled": sub.enabled,
        "disabled_reason": sub.disabled_reason,
        "failing_since": sub.failing_since,
        "deleted": sub.deleted,
        "created_at": sub.created_at,
        "version": sub.version,
    }


def insert(session: AsyncSession, sub: Subscription) -> None:
    session.add(Row(**subscription_to_row(sub)))


def _stale(sub_id: str, current: int, sent: int) -> Conflict:
    return Conflict.stale_version(
        f"webhook subscription {sub_id!r} is at version {current}, not {sent}", "version", current=current, sent=sent
    )


async def load_in_scope(
    session: AsyncSession,
    principal: Principal,
    subscription_id: str,
    action: str,
    *,
    lock: bool = False,
    expected_version: int = 0,
) -> Subscription:
    """The subscription when the caller may read it (else NotFound) and may `webhooks:<action>` it
    (else PermissionDenied); a deleted one does not exist. `lock`: for a change, until the
    transaction ends; `expected_version` (0: any): the version the caller read, else Conflict."""
    query = select(Row).where(Row.id == subscription_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None or row.deleted or not principal.can_see("webhooks:read", row.owner_id, row.org_path):
        raise NotFound(f"webhook subscription {subscription_id!r} does not exist", "id")
    if not principal.can_see(f"webhooks:{action}", row.owner_id, row.org_path):
        raise PermissionDenied(f"missing permission webhooks:{action} for this subscription")
    if expected_version and expected_version != row.version:
        raise _stale(subscription_id, row.version, expected_version)
    return subscription_from_row(row)


async def save(session: AsyncSession, sub: Subscription) -> Subscription:
    """The subscription (loaded in this transaction, locked) written back as its next version;
    Conflict when the stored one is no longer the version it was loaded at."""
    row = await session.get(Row, sub.id)  # the identity map's row once loaded
    if row is None:
        raise NotFound(f"webhook subscription {sub.id!r} does not exist", "id")
    if row.version != sub.version:
        raise _stale(sub.id, row.version, sub.version)
    for name, value in subscription_to_row(sub).items():
        setattr(row, name, value)
    row.version = sub.version + 1
    return subscription_from_row(row)


async def visible(session: AsyncSession, principal: Principal) -> list[Subscription]:
    """The live subscriptions the caller may read, oldest first."""
    rows = (await session.scalars(select(Row).where(Row.deleted.is_(False)).order_by(Row.id))).all()
    return [subscription_from_row(r) for r in rows if principal.can_see("webhooks:read", r.owner_id, r.org_path)]
