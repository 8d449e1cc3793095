"""Announcements use cases (domain/announcements.py): publish to a unit and its subtree within the
publisher's scope, deliver through the inbox (from the service's own event), read receipts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesAnnouncementPublished
from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory_tables import directory_units, directory_users
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import announcements
from salesgrid_activities.domain.announcements import Announcement, Receipt
from salesgrid_activities.stores import announcements as store
from salesgrid_activities.stores import inbox as inbox_store
from salesgrid_activities.usecases._support import ActivitiesUseCasesBase

PUBLISH = "announcements:publish"


@dataclass(frozen=True)
class AnnouncementView:
    announcement: Announcement
    read_count: int | None = None  # for those who may see the receipts
    receipt: Receipt | None = None  # the caller's own


@dataclass(frozen=True)
class Receipts:
    announcement_id: str
    counts: announcements.ReadCounts
    receipts: list[Receipt]


class AnnouncementsUseCases(ActivitiesUseCasesBase):
    @staticmethod
    def _may_manage(principal: Principal, announcement: Announcement) -> bool:
        return principal.can_see(PUBLISH, announcement.publisher_id, announcement.org_path)

    async def publish(self, principal: Principal, *, unit_id: str, title: str, body: str) -> AnnouncementView:
        principal.require(PUBLISH)
        draft = announcements.check_draft(title, body, unit_id)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            unit_path = await session.scalar(
                select(directory_units.c.path).where(
                    directory_units.c.unit_id == draft.unit_id, directory_units.c.active.is_(True)
                )
            )
            announcements.check_target(
                unit_path is not None and principal.can_see(PUBLISH, "", unit_path), unit_path is not None
            )
            assert unit_path is not None
            people = (
                await session.execute(
                    select(directory_users.c.user_id, directory_users.c.org_path, directory_users.c.active).where(
                        directory_users.c.org_path.startswith(unit_path, autoescape=True)
                    )
                )
            ).all()
            audience = announcements.audience(unit_path, [tuple(p) for p in people])
            published = Announcement(
                id=new_id(),
                publisher_id=principal.subject_id,
                unit_id=draft.unit_id,
                org_path=unit_path,
                title=draft.title,
                body=draft.body,
                recipients=len(audience),
                published_at=now,
            )
            store.insert(session, published, audience)
            await self._emit(
                session,
                "announcement.published",
                ActivitiesAnnouncementPublished(
                    announcement_id=published.id,
                    publisher_id=published.publisher_id,
                    unit_id=published.unit_id,
                    org_path=unit_path,
                    title=published.title,
                    recipients=published.recipients,
                ),
                aggregate_id=published.id,
                org_path=unit_path,
                principal=principal,
                now=now,
            )
        return AnnouncementView(published, 0)

    async def list(
        self, principal: Principal, *, mine: bool, unread_only: bool, page_size: int, page_token: str
    ) -> Page[AnnouncementView]:
        if not mine:
            principal.require(PUBLISH)
        async with self.sessions() as session:
            page = await store.page(
                session, principal, PUBLISH, mine=mine, unread_only=unread_only, size=page_size, token=page_token
            )
            views = [await self._view(session, principal, announcement) for announcement in page.items]
        return Page(views, page.next_token)

    async def _view(self, session: AsyncSession, principal: Principal, announcement: Announcement) -> AnnouncementView:
        receipt = await store.receipt(session, announcement.id, principal.subject_id)
        count = await store.read_count(session, announcement.id) if self._may_manage(principal, announcement) else None
        return AnnouncementView(announcement, count, receipt)

    async def _visible(self, session: AsyncSession, principal: Principal, announcement_id: str) -> Announcement:
        if not announcement_id:
            raise ValidationFailed("is required", "id")
        announcement = await store.load(session, announcement_id)
        if announcement is None or not (
            self._may_manage(principal, announcement)
            or await store.receipt(session, announcement.id, principal.subject_id) is not None
        ):
            raise NotFound(f"announcement {announcement_id!r} not found", "id")
        return announcement

    async def get(self, principal: Principal, announcement_id: str) -> AnnouncementView:
        async with self.sessions() as session:
            return await self._view(session, principal, await self._visible(session, principal, announcement_id))

    async def mark_read(self, principal: Principal, announcement_id: str) -> AnnouncementView:
        """The caller's own receipt (and his inbox item); a publisher who is no recipient changes nothing.
        Reads are receipts, not events: the publisher counts them, the audit trail does not."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            announcement = await self._visible(session, principal, announcement_id)
            if await store.mark_read(session, announcement.id, principal.subject_id, now):
                await inbox_store.mark_record_read(session, principal.subject_id, "announcement", announcement.id, now)
            return await self._view(session, principal, announcement)

    async def receipts(self, principal: Principal, announcement_id: str) -> Receipts:
        principal.require(PUBLISH)
        async with self.sessions() as session:
            announcement = await self._visible(session, principal, announcement_id)
            if not self._may_manage(principal, announcement):
                raise NotFound(f"announcement {announcement_id!r} not found", "id")
            found = await store.receipts(session, announcement.id)
        return Receipts(announcement.id, announcements.read_counts(r.read_at is not None for r in found), found)
