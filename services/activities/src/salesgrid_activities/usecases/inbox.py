"""Inbox use cases: deliver a notice to its recipients (from event handlers, in the consumer's
transaction) and let each person list, count and mark his notices. A caller sees his own items;
with `team` he sees the record owners' copies of notices within his activities:read scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory_tables import directory_users
from salesgrid_common.errors import NotFound, ValidationFailed
from salesgrid_common.ids import new_id
from salesgrid_common.paging import Page
from salesgrid_activities.domain import inbox
from salesgrid_activities.stores import announcements as announcement_store
from salesgrid_activities.stores import inbox as inbox_store


@dataclass(frozen=True)
class UnreadCount:
    total: int
    by_kind: dict[str, int]


async def deliver(
    session: AsyncSession, notice: inbox.Notice, *, event_id: str, occurred_at: datetime, owner_org_path: str
) -> int:
    """One item per recipient, each under his own org path (from the directory replica; the
    record's path for its owner when the replica does not know him yet). Returns items written."""
    if not notice.record_id:
        return 0
    paths: dict[str, str] = {}
    recipients = list(notice.recipients)
    for start in range(0, len(recipients), 1000):  # one query per thousand (an announcement reaches many)
        paths.update(
            (
                await session.execute(
                    select(directory_users.c.user_id, directory_users.c.org_path).where(
                        directory_users.c.user_id.in_(recipients[start : start + 1000])
                    )
                )
            )
            .tuples()
            .all()
        )
    written = 0
    for recipient in recipients:
        path = paths.get(recipient) or (owner_org_path if recipient == notice.subject_owner_id else "")
        inbox_store.insert(
            session,
            inbox.InboxItem(
                id=new_id(),
                owner_id=recipient,
                org_path=path,
                kind=notice.kind,
                title=notice.title,
                params=dict(notice.params),
                record_type=notice.record_type,
                record_id=notice.record_id,
                subject_owner_id=notice.subject_owner_id,
                event_id=event_id,
                occurred_at=occurred_at,
            ),
        )
        written += 1
    return written


class InboxUseCases:
    def __init__(self, sessions: SessionFactory, clock: Clock, reader: SessionFactory | None = None) -> None:
        self.sessions = sessions
        self.reader = reader or sessions
        self.clock = clock

    async def list(
        self,
        principal: Principal,
        *,
        team: bool = False,
        unread_only: bool = False,
        kind: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Page[inbox.InboxItem]:
        if team:
            principal.require("activities:read")
        kind = kind if inbox.check_kind(kind) else ""
        async with self.reader() as session:
            return await inbox_store.page(
                session,
                principal,
                team=team,
                unread_only=unread_only,
                kind=kind,
                page_size=page_size,
                page_token=page_token,
            )

    async def unread_count(self, principal: Principal) -> UnreadCount:
        async with self.reader() as session:
            by_kind = await inbox_store.unread_by_kind(session, principal.subject_id)
        return UnreadCount(sum(by_kind.values()), by_kind)

    async def mark_read(self, principal: Principal, item_id: str) -> inbox.InboxItem:
        """Only one's own items; another's item answers as if it did not exist."""
        if not item_id:
            raise ValidationFailed("is required", "id")
        async with self.sessions() as session, session.begin():
            item = await inbox_store.load(session, item_id)
            if item is None or item.owner_id != principal.subject_id:
                raise NotFound(f"inbox item {item_id!r} does not exist", "id")
            item = await inbox_store.mark_read(session, item, item.read_at or self.clock())
            if item.record_type == "announcement" and item.read_at:  # reading it in the inbox is the read receipt
                await announcement_store.mark_many_read(session, principal.subject_id, [item.record_id], item.read_at)
            return item

    async def mark_all_read(self, principal: Principal, kind: str = "") -> int:
        kind = kind if inbox.check_kind(kind) else ""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            if kind in ("", "announcement"):
                await announcement_store.mark_many_read(
                    session,
                    principal.subject_id,
                    await inbox_store.unread_announcement_ids(session, principal.subject_id),
                    now,
                )
            return await inbox_store.mark_all_read(session, principal.subject_id, kind, now)
