"""Use cases of subscriptions: create (secret shown once), read, update, delete, rotate the secret,
the delivery log and manual redelivery. An owner manages his own subscriptions; someone with
`webhooks:<action>` over the owner's unit (an admin) manages them too. Every change is an event
(`salesgrid.webhooks.subscription.<verb>`, in the change's transaction), so identity's audit
trail records who set up, changed, removed or re-keyed each channel out of the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionChanged
from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page

from salesgrid_webhooks.domain import endpoints, events, signing
from salesgrid_webhooks.domain.subscriptions import Delivery, OwnerScope, Subscription
from salesgrid_webhooks.settings import WebhooksSettings
from salesgrid_webhooks.stores import deliveries as delivery_store
from salesgrid_webhooks.stores import subscriptions as store

STATUSES = ("pending", "succeeded", "failed")


def scope_snapshot(principal: Principal) -> dict[str, str]:
    return {name: scope.name.lower() for name, scope in principal.permissions.items()}


def owner_scope(principal: Principal) -> OwnerScope:
    """The caller's scope as a subscription keeps it (an API key's creator and expiry too)."""
    key = principal.kind == "api_key"
    return OwnerScope(
        org_path=principal.org_path,
        permissions=scope_snapshot(principal),
        roles=list(principal.roles),
        responsible_id=principal.responsible_id if key else "",
        expires_at=datetime.fromtimestamp(principal.key_expires_at, UTC) if key and principal.key_expires_at else None,
    )


def _description(description: str) -> str:
    if len(description) > 500:
        raise ValidationFailed("at most 500 characters", "description")
    return description


class SubscriptionUseCases:
    def __init__(
        self,
        sessions: SessionFactory,
        reader: SessionFactory,
        settings: WebhooksSettings,
        clock: Clock,
        outbox: Outbox,
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.reader = reader
        self.settings = settings
        self.clock = clock
        self.box = settings.secret_box()

    async def _audit(self, session: AsyncSession, verb: str, sub: Subscription, principal: Principal) -> None:
        await self.outbox.record_by(
            session,
            f"subscription.{verb}",
            WebhookSubscriptionChanged(
                subscription_id=sub.id,
                owner_id=sub.owner_id,
                owner_kind=sub.owner_kind,
                url=sub.url,
                event_types=sub.event_types,
                enabled=sub.enabled,
            ),
            principal,
            aggregate_id=sub.id,
            org_path=sub.scope.org_path,
            occurred_at=self.clock(),
        )

    async def create(
        self, principal: Principal, url: str, event_types: list[str], description: str
    ) -> tuple[Subscription, str]:
        principal.require("webhooks:create")
        url = endpoints.validate_url(url, allow_http=self.settings.allow_http_endpoints)
        types = events.validate_event_types(event_types)
        description = _description(description)
        secret = signing.new_secret()
        sub = Subscription(
            id=new_id(),
            owner_id=principal.subject_id,
            owner_kind=principal.kind,
            url=url,
            description=description,
            event_types=types,
            secret=self.box.seal(secret),
            created_at=self.clock(),
            scope=owner_scope(principal),
        )
        async with self.sessions() as session, session.begin():
            store.insert(session, sub)
            await self._audit(session, "created", sub, principal)
        return sub, secret

    async def list(self, principal: Principal) -> list[Subscription]:
        principal.require("webhooks:read")
        async with self.reader() as session:
            return await store.visible(session, principal)

    async def get(self, principal: Principal, subscription_id: str) -> Subscription:
        async with self.reader() as session:
            return await store.load_in_scope(session, principal, subscription_id, "read")

    async def update(
        self,
        principal: Principal,
        subscription_id: str,
        *,
        url: str | None,
        event_types: list[str],
        enabled: bool | None,
        description: str | None,
        expected_version: int = 0,
    ) -> Subscription:
        async with self.sessions() as session, session.begin():
            sub = await store.load_in_scope(
                session, principal, subscription_id, "create", lock=True, expected_version=expected_version
            )
            if url is not None:
                sub.url = endpoints.validate_url(url, allow_http=self.settings.allow_http_endpoints)
            if event_types:
                sub.event_types = events.validate_event_types(event_types)
            if description is not None:
                sub.description = _description(description)
            sub.take_scope(principal.subject_id, owner_scope(principal))
            if enabled is not None:
                sub.set_enabled(enabled, self.clock())
            sub = await store.save(session, sub)
            await self._audit(session, "updated", sub, principal)
            return sub

    async def delete(self, principal: Principal, subscription_id: str, expected_version: int = 0) -> Subscription:
        async with self.sessions() as session, session.begin():
            sub = await store.load_in_scope(
                session, principal, subscription_id, "delete", lock=True, expected_version=expected_version
            )
            sub.delete()
            sub = await store.save(session, sub)
            await self._audit(session, "deleted", sub, principal)
            return sub

    async def rotate_secret(
        self, principal: Principal, subscription_id: str, overlap_seconds: int, expected_version: int = 0
    ) -> tuple[Subscription, str]:
        if overlap_seconds < 0 or overlap_seconds > 7 * 24 * 3600:
            raise ValidationFailed("must be between 0 and 604800", "overlap_seconds")
        overlap = overlap_seconds or self.settings.rotation_overlap_seconds
        async with self.sessions() as session, session.begin():
            sub = await store.load_in_scope(
                session, principal, subscription_id, "create", lock=True, expected_version=expected_version
            )
            secret = signing.new_secret()
            sub.rotate(self.box.seal(secret), self.clock(), timedelta(seconds=overlap))
            sub = await store.save(session, sub)
            await self._audit(session, "secret_rotated", sub, principal)
            return sub, secret

    async def deliveries(
        self, principal: Principal, subscription_id: str, status: str, size: int, token: str
    ) -> Page[Delivery]:
        if status and status not in STATUSES:
            raise ValidationFailed(f"must be one of {', '.join(STATUSES)}", "status")
        async with self.reader() as session:
            await store.load_in_scope(session, principal, subscription_id, "read")
            return await delivery_store.page(session, subscription_id, status, size, token)

    async def redeliver(self, principal: Principal, subscription_id: str, delivery_id: str) -> Delivery:
        async with self.sessions() as session, session.begin():
            await store.load_in_scope(session, principal, subscription_id, "create")
            delivery = await delivery_store.load(session, subscription_id, delivery_id)
            delivery.redeliver(self.clock())
            return await delivery_store.save_schedule(session, delivery)
