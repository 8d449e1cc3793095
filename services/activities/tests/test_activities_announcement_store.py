"""The announcement store: its mappers cover every column both ways, publishing stores a receipt
per recipient, a read is marked once (with the reader's inbox item), and the pages a caller lists
are his own receipts or what he may manage (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from salesgrid_dev.pytest_plugin import Migrated
from salesgrid_activities.app import MIGRATIONS
from salesgrid_activities.domain.announcements import Announcement
from salesgrid_activities.domain.inbox import InboxItem
from salesgrid_activities.models import AnnouncementRow
from salesgrid_activities.stores import announcements as store
from salesgrid_activities.stores import inbox as inbox_store
from salesgrid_dev.testing import principal

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def announcement(announcement_id: str = "a-1", age: timedelta = timedelta(0)) -> Announcement:
    return Announcement(
        id=announcement_id,
        publisher_id="mgr",
        unit_id="sz",
        org_path="/c/sz/",
        title="Quarter close",
        body="Submit by Friday",
        recipients=2,
        published_at=NOW - age,
    )


def test_the_mapper_writes_every_column_and_reads_back_every_field() -> None:
    values = store.announcement_to_row(announcement())
    assert set(values) == set(AnnouncementRow.__table__.columns.keys())  # a new column must be mapped
    assert store.announcement_from_row(AnnouncementRow(**values)) == announcement()


async def test_receipts_reads_and_pages(migrated: Migrated) -> None:
    sessions = await migrated(MIGRATIONS)
    async with sessions() as session, session.begin():
        store.insert(session, announcement("a-1", timedelta(hours=1)), ["rep-b", "rep-a"])
        store.insert(session, announcement("a-2"), ["rep-b"])
        inbox_store.insert(
            session,
            InboxItem(
                id="i-1",
                owner_id="rep-a",
                org_path="/c/sz/",
                kind="announcement",
                title="Quarter close",
                params={},
                record_type="announcement",
                record_id="a-1",
                subject_owner_id="mgr",
                event_id="e-1",
                occurred_at=NOW,
            ),
        )
    async with sessions() as session, session.begin():
        assert await store.load(session, "a-1") == announcement("a-1", timedelta(hours=1))
        assert await store.recipients(session, "a-1") == ["rep-a", "rep-b"]
        assert await store.mark_read(session, "a-1", "rep-a", NOW) is True
        await inbox_store.mark_record_read(session, "rep-a", "announcement", "a-1", NOW)
        assert await store.mark_read(session, "a-1", "rep-a", NOW) is False  # once
        assert await store.mark_read(session, "a-1", "stranger", NOW) is False  # no receipt
    async with sessions() as session:
        assert await store.read_count(session, "a-1") == 1
        assert [(r.user_id, r.read_at) for r in await store.receipts(session, "a-1")] == [
            ("rep-a", NOW),
            ("rep-b", None),
        ]
        assert (await inbox_store.load(session, "i-1")).read_at == NOW  # type: ignore[union-attr]
        rep_b = principal("rep-b", "/c/sz/", permissions={})
        mine = await store.page(
            session, rep_b, "announcements:publish", mine=True, unread_only=False, size=10, token=""
        )
        assert [a.id for a in mine.items] == ["a-2", "a-1"]  # newest first
        rep_a = principal("rep-a", "/c/sz/", permissions={})
        unread = await store.page(
            session, rep_a, "announcements:publish", mine=True, unread_only=True, size=10, token=""
        )
        assert unread.items == []
        mgr = principal("mgr", "/c/sz/", permissions={"announcements:publish": "subtree"})
        managed = await store.page(
            session, mgr, "announcements:publish", mine=False, unread_only=False, size=10, token=""
        )
        assert [a.id for a in managed.items] == ["a-2", "a-1"]
