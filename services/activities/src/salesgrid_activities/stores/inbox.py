"""The inbox store: the one mapping between an `inbox_items` row and the domain InboxItem
(`item_from_row` / `item_to_row`), inserting a notice's items, pages and unread counts of what a
caller sees, and read marks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.auth.scope_filters import scope_filter
from salesgrid_common.paging import Page, sorted_keyset_page
from salesgrid_activities.domain.inbox import InboxItem
from salesgrid_activities.models import InboxItemRow as Row


def item_from_row(row: Row) -> InboxItem:
    return InboxItem(
        id=row.id,
        owner_id=row.owner_id,
        org_path=row.org_path,
        kind=row.kind,
        title=row.title,
        params=dict(row.params or {}),
        record_type=row.record_type,
        record_id=row.record_id,
        subject_owner_id=row.subject_owner_id,
        event_id=row.event_id,
        occurred_at=row.occurred_at,
        read_at=row.read_at,
    )


def item_to_row(item: InboxItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "owner_id": item.owner_id,
        "org_path": item.org_path,
        "kind": item.kind,
        "title": item.title,
        "params": dict(item.params),
        "record_type": item.record_type,
        "record_id": item.record_id,
        "subject_owner_id": item.subject_owner_id,
        "event_id": item.event_id,
        "occurred_at": item.occurred_at,
        "read_at": item.read_at,
    }


def insert(session: AsyncSession, item: InboxItem) -> None:
    session.add(Row(**item_to_row(item)))


def _visible(principal: Principal, team: bool) -> ColumnElement[bool]:
    """One's own items; with `team`, the record owners' copies within one's activities:read scope
    (the caller has been checked for the permission)."""
    if not team:
        return Row.owner_id == principal.subject_id
    return scope_filter(principal, "activities:read", Row.owner_id, Row.org_path) & (
        Row.owner_id == Row.subject_owner_id
    )


async def page(
    session: AsyncSession,
    principal: Principal,
    *,
    team: bool,
    unread_only: bool,
    kind: str,
    page_size: int,
    page_token: str,
) -> Page[InboxItem]:
    """Newest first, in one query (a blank kind: every kind)."""
    query = select(Row).where(_visible(principal, team))
    if unread_only:
        query = query.where(Row.read_at.is_(None))
    if kind:
        query = query.where(Row.kind == kind)
    found = await sorted_keyset_page(session, query, Row.occurred_at, Row.id, page_size, page_token, descending=True)
    return Page([item_from_row(row) for row in found.items], found.next_token)


async def unread_by_kind(session: AsyncSession, owner_id: str) -> dict[str, int]:
    stmt = select(Row.kind, func.count()).where(Row.owner_id == owner_id, Row.read_at.is_(None)).group_by(Row.kind)
    return {kind: count for kind, count in (await session.execute(stmt)).tuples().all()}


async def load(session: AsyncSession, item_id: str) -> InboxItem | None:
    row = await session.get(Row, item_id)
    return None if row is None else item_from_row(row)


async def mark_read(session: AsyncSession, item: InboxItem, now: datetime) -> InboxItem:
    """The item read at `now`, unless it already was."""
    row = await session.get(Row, item.id)  # the identity map's row once loaded
    assert row is not None
    row.read_at = row.read_at or now
    return item_from_row(row)


async def unread_announcement_ids(session: AsyncSession, owner_id: str) -> list[str]:
    stmt = select(Row.record_id).where(
        Row.owner_id == owner_id, Row.read_at.is_(None), Row.record_type == "announcement"
    )
    return list((await session.scalars(stmt)).all())


async def mark_all_read(session: AsyncSession, owner_id: str, kind: str, now: datetime) -> int:
    """Every unread item of the owner (of one kind, when given) read now; returns how many."""
    stmt = update(Row).where(Row.owner_id == owner_id, Row.read_at.is_(None))
    if kind:
        stmt = stmt.where(Row.kind == kind)
    return (await session.execute(stmt.values(read_at=now))).rowcount or 0  # type: ignore[attr-defined]


async def mark_record_read(
    session: AsyncSession, owner_id: str, record_type: str, record_id: str, now: datetime
) -> None:
    """The owner's unread items about one record read now."""
    stmt = select(Row).where(
        Row.owner_id == owner_id, Row.record_type == record_type, Row.record_id == record_id, Row.read_at.is_(None)
    )
    for row in (await session.scalars(stmt)).all():
        row.read_at = now


async def repoint(session: AsyncSession, record_type: str, old_ids: list[str], new_id: str) -> None:
    """Items about records that became another one (a merged customer's) link to that one."""
    await session.execute(
        update(Row).where(Row.record_type == record_type, Row.record_id.in_(old_ids)).values(record_id=new_id)
    )
