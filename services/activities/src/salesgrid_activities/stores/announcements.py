"""The announcement store: the one mapping between `announcements` / `announcement_receipts` rows
and the domain Announcement and Receipt, publishing one with its audience's receipts, loads, the
pages a caller lists, read counts and read marks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.paging import Page, sorted_keyset_page
from salesgrid_activities.domain.announcements import Announcement, Receipt
from salesgrid_activities.models import AnnouncementReceiptRow as ReceiptRow
from salesgrid_activities.models import AnnouncementRow as Row


def announcement_from_row(row: Row) -> Announcement:
    return Announcement(
        id=row.id,
        publisher_id=row.publisher_id,
        unit_id=row.unit_id,
        org_path=row.org_path,
        title=row.title,
        body=row.body,
        recipients=row.recipients,
        published_at=row.published_at,
    )


def announcement_to_row(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": announcement.id,
        "publisher_id": announcement.publisher_id,
        "unit_id": announcement.unit_id,
        "org_path": announcement.org_path,
        "title": announcement.title,
        "body": announcement.body,
        "recipients": announcement.recipients,
        "published_at": announcement.published_at,
    }


def receipt_from_row(row: ReceiptRow) -> Receipt:
    return Receipt(announcement_id=row.announcement_id, user_id=row.user_id, read_at=row.read_at)


def insert(session: AsyncSession, announcement: Announcement, audience: Sequence[str]) -> None:
    """The announcement and an unread receipt for each of its audience."""
    session.add(Row(**announcement_to_row(announcement)))
    session.add_all(
        [ReceiptRow(announcement_id=announcement.id, user_id=user_id, read_at=None) for user_id in audience]
    )


async def load(session: AsyncSession, announcement_id: str) -> Announcement | None:
    row = await session.get(Row, announcement_id)
    return None if row is None else announcement_from_row(row)


async def receipt(session: AsyncSession, announcement_id: str, user_id: str) -> Receipt | None:
    row = await session.get(ReceiptRow, (announcement_id, user_id))
    return None if row is None else receipt_from_row(row)


async def read_count(session: AsyncSession, announcement_id: str) -> int:
    stmt = select(func.count()).where(ReceiptRow.announcement_id == announcement_id, ReceiptRow.read_at.is_not(None))
    return int(await session.scalar(stmt) or 0)


async def receipts(session: AsyncSession, announcement_id: str) -> list[Receipt]:
    """Every receipt of the announcement, by user id."""
    stmt = select(ReceiptRow).where(ReceiptRow.announcement_id == announcement_id).order_by(ReceiptRow.user_id)
    return [receipt_from_row(r) for r in (await session.scalars(stmt)).all()]


async def recipients(session: AsyncSession, announcement_id: str) -> list[str]:
    """The audience fixed when the announcement was published, by user id."""
    stmt = select(ReceiptRow.user_id).where(ReceiptRow.announcement_id == announcement_id).order_by(ReceiptRow.user_id)
    return list((await session.scalars(stmt)).all())


async def mark_read(session: AsyncSession, announcement_id: str, user_id: str, now: datetime) -> bool:
    """The user's receipt read at `now`; False when he has none or already read it."""
    row = await session.get(ReceiptRow, (announcement_id, user_id))
    if row is None or row.read_at is not None:
        return False
    row.read_at = now
    return True


async def mark_many_read(session: AsyncSession, user_id: str, announcement_ids: list[str], now: datetime) -> None:
    """The user's unread receipts of these announcements read at `now` (one statement)."""
    if announcement_ids:
        await session.execute(
            update(ReceiptRow)
            .where(
                ReceiptRow.user_id == user_id,
                ReceiptRow.announcement_id.in_(announcement_ids),
                ReceiptRow.read_at.is_(None),
            )
            .values(read_at=now)
        )


async def page(
    session: AsyncSession,
    principal: Principal,
    permission: str,
    *,
    mine: bool,
    unread_only: bool,
    size: int,
    token: str,
) -> Page[Announcement]:
    """Newest first: those the caller received (`mine`, unread ones only when asked), else those
    he may manage (published over units within `permission`'s scope)."""
    if mine:
        query = select(Row).join(
            ReceiptRow, (ReceiptRow.announcement_id == Row.id) & (ReceiptRow.user_id == principal.subject_id)
        )
        if unread_only:
            query = query.where(ReceiptRow.read_at.is_(None))
    else:
        query = select(Row).where(scope_filter(principal, permission, Row.publisher_id, Row.org_path))
    found = await sorted_keyset_page(session, query, Row.published_at, Row.id, size, token, descending=True)
    return Page([announcement_from_row(r) for r in found.items], found.next_token)
