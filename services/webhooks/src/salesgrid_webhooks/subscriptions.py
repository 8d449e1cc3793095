"""Use cases of subscriptions: create (secret shown once), read, update, delete, rotate the secret,
the delivery log and manual redelivery. An owner manages his own subscriptions; someone with
`webhooks:<action>` over the owner's unit (an admin) manages them too. Every change is an event
(`salesgrid.webhooks.subscription.<verb>`, in the change's transaction), so identity's audit
trail records who set up, changed, removed or re-keyed each channel out of the platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.webhooks_events_pb2 import WebhookSubscriptionChanged
from salesgrid_common.auth import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page, keyset_page

from salesgrid_webhooks.domain import endpoints, events, signing
from salesgrid_webhooks.models import AttemptRow, DeliveryRow, SubscriptionRow
from salesgrid_webhooks.settings import WebhooksSettings

STATUSES = ("pending", "succeeded", "failed")


def scope_snapshot(principal: Principal) -> dict[str, str]:
    return {name: scope.name.lower() for name, scope in principal.permissions.items()}


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

    async def _get(
        self, session: AsyncSession, principal: Principal, subscription_id: str, action: str
    ) -> SubscriptionRow:
        row = await session.get(SubscriptionRow, subscription_id)
        if row is None or row.deleted or not principal.can_see("webhooks:read", row.owner_id, row.org_path):
            raise NotFound(f"webhook subscription {subscription_id!r} does not exist", "id")
        if not principal.can_see(f"webhooks:{action}", row.owner_id, row.org_path):
            raise PermissionDenied(f"missing permission webhooks:{action} for this subscription")
        return row

    async def _audit(self, session: AsyncSession, verb: str, row: SubscriptionRow, principal: Principal) -> None:
        await self.outbox.record(
            session,
            f"salesgrid.webhooks.subscription.{verb}",
            WebhookSubscriptionChanged(
                subscription_id=row.id,
                owner_id=row.owner_id,
                owner_kind=row.owner_kind,
                url=row.url,
                event_types=row.event_types,
                enabled=row.enabled,
            ),
            EventMeta.acting(principal, "webhooks", aggregate_id=row.id, org_path=row.org_path),
            self.clock(),
        )

    def _snapshot(self, row: SubscriptionRow, principal: Principal) -> None:
        """Deliveries follow the scope of whoever last set the subscription up: its owner."""
        if principal.subject_id == row.owner_id:
            row.permissions, row.org_path, row.owner_roles = (
                scope_snapshot(principal),
                principal.org_path,
                list(principal.roles),
            )
            key = principal.kind == "api_key"
            row.responsible_id = principal.responsible_id if key else ""
            row.owner_expires_at = (
                datetime.fromtimestamp(principal.key_expires_at, UTC) if key and principal.key_expires_at else None
            )

    async def create(
        self, principal: Principal, url: str, event_types: list[str], description: str
    ) -> tuple[SubscriptionRow, str]:
        principal.require("webhooks:create")
        url = endpoints.validate_url(url, allow_http=self.settings.allow_http_endpoints)
        types = events.validate_event_types(event_types)
        if len(description) > 500:
            raise ValidationFailed("at most 500 characters", "description")
        secret = signing.new_secret()
        row = SubscriptionRow(
            id=new_id(),
            owner_id=principal.subject_id,
            owner_kind=principal.kind,
            url=url,
            description=description,
            event_types=types,
            secret=self.box.seal(secret),
            previous_secret=None,
            previous_secret_expires_at=None,
            enabled=True,
            disabled_reason="",
            failing_since=None,
            deleted=False,
            created_at=self.clock(),
            org_path="",
            permissions={},
            owner_roles=[],
            responsible_id="",
            owner_expires_at=None,
        )
        self._snapshot(row, principal)
        async with self.sessions() as session, session.begin():
            session.add(row)
            await self._audit(session, "created", row, principal)
        return row, secret

    async def list(self, principal: Principal) -> list[SubscriptionRow]:
        principal.require("webhooks:read")
        async with self.reader() as session:
            rows = (
                await session.scalars(
                    select(SubscriptionRow).where(SubscriptionRow.deleted.is_(False)).order_by(SubscriptionRow.id)
                )
            ).all()
        return [r for r in rows if principal.can_see("webhooks:read", r.owner_id, r.org_path)]

    async def get(self, principal: Principal, subscription_id: str) -> SubscriptionRow:
        async with self.reader() as session:
            return await self._get(session, principal, subscription_id, "read")

    async def update(
        self,
        principal: Principal,
        subscription_id: str,
        *,
        url: str | None,
        event_types: list[str],
        enabled: bool | None,
        description: str | None,
    ) -> SubscriptionRow:
        async with self.sessions() as session, session.begin():
            row = await self._get(session, principal, subscription_id, "create")
            if url is not None:
                row.url = endpoints.validate_url(url, allow_http=self.settings.allow_http_endpoints)
            if event_types:
                row.event_types = events.validate_event_types(event_types)
            if description is not None:
                if len(description) > 500:
                    raise ValidationFailed("at most 500 characters", "description")
                row.description = description
            self._snapshot(row, principal)
            if enabled is not None:
                if enabled and row.owner_expires_at is not None and row.owner_expires_at <= self.clock():
                    raise FailedPrecondition("the owning API key has expired: subscribe again with a valid key")
                row.enabled = enabled
                if enabled:
                    row.disabled_reason, row.failing_since = "", None
            await self._audit(session, "updated", row, principal)
            return row

    async def delete(self, principal: Principal, subscription_id: str) -> SubscriptionRow:
        async with self.sessions() as session, session.begin():
            row = await self._get(session, principal, subscription_id, "delete")
            row.deleted, row.enabled, row.disabled_reason = True, False, "deleted"
            await self._audit(session, "deleted", row, principal)
            return row

    async def rotate_secret(
        self, principal: Principal, subscription_id: str, overlap_seconds: int
    ) -> tuple[SubscriptionRow, str]:
        if overlap_seconds < 0 or overlap_seconds > 7 * 24 * 3600:
            raise ValidationFailed("must be between 0 and 604800", "overlap_seconds")
        overlap = overlap_seconds or self.settings.rotation_overlap_seconds
        async with self.sessions() as session, session.begin():
            row = await self._get(session, principal, subscription_id, "create")
            secret = signing.new_secret()
            row.previous_secret, row.previous_secret_expires_at = row.secret, self.clock() + timedelta(seconds=overlap)
            row.secret = self.box.seal(secret)
            await self._audit(session, "secret_rotated", row, principal)
            return row, secret

    async def deliveries(
        self, principal: Principal, subscription_id: str, status: str, size: int, token: str
    ) -> tuple[Page[DeliveryRow], dict[str, list[AttemptRow]]]:
        if status and status not in STATUSES:
            raise ValidationFailed(f"must be one of {', '.join(STATUSES)}", "status")
        async with self.reader() as session:
            await self._get(session, principal, subscription_id, "read")
            query = select(DeliveryRow).where(DeliveryRow.subscription_id == subscription_id)
            if status:
                query = query.where(DeliveryRow.status == status)
            page = await keyset_page(session, query, DeliveryRow.id, size, token)
            attempts: dict[str, list[AttemptRow]] = {}
            if page.items:
                for attempt in (
                    await session.scalars(
                        select(AttemptRow)
                        .where(AttemptRow.delivery_id.in_([d.id for d in page.items]))
                        .order_by(AttemptRow.attempt)
                    )
                ).all():
                    attempts.setdefault(attempt.delivery_id, []).append(attempt)
        return page, attempts

    async def redeliver(self, principal: Principal, subscription_id: str, delivery_id: str) -> DeliveryRow:
        async with self.sessions() as session, session.begin():
            await self._get(session, principal, subscription_id, "create")
            delivery = await session.get(DeliveryRow, delivery_id)
            if delivery is None or delivery.subscription_id != subscription_id:
                raise NotFound(f"delivery {delivery_id!r} does not exist", "delivery_id")
            delivery.status, delivery.next_attempt_at = "pending", self.clock()
            return delivery
