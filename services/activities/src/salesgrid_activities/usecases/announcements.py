"""Announcements use cases (domain/announcements.py): publish to a unit and its subtree within the
publisher's scope, deliver through the inbox (from the service's own event), read receipts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.activities_events_pb2 import ActivitiesAnnouncementPublished
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.directory import directory_units, directory_users
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page, sorted_keyset_page
from salesgrid_activities.domain import announcements
from salesgrid_activities.models import AnnouncementReceiptRow, AnnouncementRow, InboxItemRow
from salesgrid_activities.usecases._support import ActivitiesUseCasesBase

PUBLISH = "announcements:publish"


@dataclass(frozen=True)
class AnnouncementView:
    row: AnnouncementRow
    read_count: int | None = None  # for those who may see the receipts
    receipt: AnnouncementReceiptRow | None = None  # the caller's own


@dataclass(frozen=True)
class Receipts:
    announcement_id: str
    counts: announcements.ReadCounts
    receipts: list[AnnouncementReceiptRow]


class AnnouncementsUseCases(ActivitiesUseCasesBase):
    @staticmethod
    def _may_manage(principal: Principal, row: AnnouncementRow) -> bool:
        return principal.can_see(PUBLISH, row.publisher_id, row.org_path)

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
            row = AnnouncementRow(
                id=new_id(),
                publisher_id=principal.subject_id,
                unit_id=draft.unit_id,
                org_path=unit_path,
                title=draft.title,
                body=draft.body,
                recipients=len(audience),
                published_at=now,
            )
            session.add(row)
            session.add_all(
                [AnnouncementReceiptRow(announcement_id=row.id, user_id=user_id, read_at=None) for user_id in audience]
            )
            await self._emit(
                session,
                "announcement.published",
                ActivitiesAnnouncementPublished(
                    announcement_id=row.id,
                    publisher_id=row.publisher_id,
                    unit_id=row.unit_id,
                    org_path=unit_path,
                    title=row.title,
                    recipients=row.recipients,
                ),
                aggregate_id=row.id,
                org_path=unit_path,
                principal=principal,
                now=now,
            )
        return AnnouncementView(row, 0)

    async def list(
        self, principal: Principal, *, mine: bool, unread_only: bool, page_size: int, page_token: str
    ) -> Page:
        if mine:
            query = select(AnnouncementRow).join(
                AnnouncementReceiptRow,
                (AnnouncementReceiptRow.announcement_id == AnnouncementRow.id)
                & (AnnouncementReceiptRow.user_id == principal.subject_id),
            )
            if unread_only:
                query = query.where(AnnouncementReceiptRow.read_at.is_(None))
        else:
            principal.require(PUBLISH)
            query = select(AnnouncementRow).where(
                scope_filter(principal, PUBLISH, AnnouncementRow.publisher_id, AnnouncementRow.org_path)
            )
        async with self.sessions() as session:
            page = await sorted_keyset_page(
                session, query, AnnouncementRow.published_at, AnnouncementRow.id, page_size, page_token, descending=True
            )
            views = [await self._view(session, principal, row) for row in page.items]
        return Page(views, page.next_token)

    async def _view(self, session: AsyncSession, principal: Principal, row: AnnouncementRow) -> AnnouncementView:
        receipt = await session.get(AnnouncementReceiptRow, (row.id, principal.subject_id))
        count = None
        if self._may_manage(principal, row):
            count = await session.scalar(
                select(func.count()).where(
                    AnnouncementReceiptRow.announcement_id == row.id, AnnouncementReceiptRow.read_at.is_not(None)
                )
            )
        return AnnouncementView(row, count, receipt)

    async def _visible(self, session: AsyncSession, principal: Principal, announcement_id: str) -> AnnouncementRow:
        if not announcement_id:
            raise ValidationFailed("is required", "id")
        row = await session.get(AnnouncementRow, announcement_id)
        if row is None or not (
            self._may_manage(principal, row)
            or await session.get(AnnouncementReceiptRow, (row.id, principal.subject_id)) is not None
        ):
            raise NotFound(f"announcement {announcement_id!r} not found", "id")
        return row

    async def get(self, principal: Principal, announcement_id: str) -> AnnouncementView:
        async with self.sessions() as session:
            return await self._view(session, principal, await self._visible(session, principal, announcement_id))

    async def mark_read(self, principal: Principal, announcement_id: str) -> AnnouncementView:
        """The caller's own receipt (and his inbox item); a publisher who is no recipient changes nothing.
        Reads are receipts, not events: the publisher counts them, the audit trail does not."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible(session, principal, announcement_id)
            receipt = await session.get(AnnouncementReceiptRow, (row.id, principal.subject_id))
            if receipt is not None and receipt.read_at is None:
                receipt.read_at = now
                for item in (
                    await session.scalars(
                        select(InboxItemRow).where(
                            InboxItemRow.owner_id == principal.subject_id,
                            InboxItemRow.record_type == "announcement",
                            InboxItemRow.record_id == row.id,
                            InboxItemRow.read_at.is_(None),
                        )
                    )
                ).all():
                    item.read_at = now
            return await self._view(session, principal, row)

    async def receipts(self, principal: Principal, announcement_id: str) -> Receipts:
        principal.require(PUBLISH)
        async with self.sessions() as session:
            row = await self._visible(session, principal, announcement_id)
            if not self._may_manage(principal, row):
                raise NotFound(f"announcement {announcement_id!r} not found", "id")
            rows = list(
                (
                    await session.scalars(
                        select(AnnouncementReceiptRow)
                        .where(AnnouncementReceiptRow.announcement_id == row.id)
                        .order_by(AnnouncementReceiptRow.user_id)
                    )
                ).all()
            )
        return Receipts(row.id, announcements.read_counts(r.read_at is not None for r in rows), rows)
