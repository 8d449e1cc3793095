"""Announcements through gRPC on SQLite and PostgreSQL: published to a unit and its subtree only
within the publisher's scope, delivered to each recipient's inbox through the service's own
event stream, read receipts from either the inbox or the announcement, counts for publishers."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from sqlalchemy import select

from salesgrid.activities.v1 import announcements_pb2 as pb
from salesgrid.activities.v1 import announcements_pb2_grpc as pb_grpc
from salesgrid.activities.v1 import inbox_pb2 as ipb
from salesgrid.activities.v1 import inbox_pb2_grpc as ipb_grpc
from salesgrid.events.v1.activities_events_pb2 import ActivitiesAnnouncementPublished
from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_activities.app import DEFINITION, MIGRATIONS
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_dev.directory_seed import add_unit, add_user, replica
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

from activities_fixtures import rpc_error

START = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
UNITS = {"root": "/c/", "b1": "/c/r1/b1/", "t1": "/c/r1/b1/t1/", "b2": "/c/r1/b2/"}
# user, unit, active
PEOPLE = [
    ("admin", "root", True),
    ("mgr", "b1", True),
    ("rep-a", "t1", True),
    ("rep-b", "t1", True),
    ("rep-gone", "t1", False),
    ("mgr2", "b2", True),
    ("rep-d", "b2", True),
]
PUBLISH = {"announcements:publish": "subtree"}


async def test_announcements_reach_the_subtree_with_read_receipts(database_url: str, nats_url: str, test_keys) -> None:  # type: ignore[no-untyped-def]
    async with run_service(
        DEFINITION, MIGRATIONS, database_url, nats_url, test_keys, clock=FakeClock(START)
    ) as running:
        async with replica(running) as session:
            for unit_id, path in UNITS.items():
                await add_unit(session, unit_id, path, at=START)
            for user_id, unit, active in PEOPLE:
                await add_user(session, user_id, UNITS[unit], unit_id=unit, active=active, at=START)
        perms = {"admin": {"announcements:publish": "all"}, "mgr": PUBLISH, "mgr2": PUBLISH}
        who = {
            user_id: bearer(
                test_keys.token(principal(user_id, UNITS[unit], unit_id=unit, permissions=perms.get(user_id, {})))
            )
            for user_id, unit, _ in PEOPLE
        }
        api, inbox = pb_grpc.AnnouncementsStub(running.channel), ipb_grpc.InboxStub(running.channel)

        # scope: a manager publishes within his subtree only; a rep not at all
        error = await rpc_error(
            api.PublishAnnouncement(
                pb.PublishAnnouncementRequest(unit_id="b2", title="t", body="b"), metadata=who["mgr"]
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        error = await rpc_error(
            api.PublishAnnouncement(
                pb.PublishAnnouncementRequest(unit_id="t1", title="t", body="b"), metadata=who["rep-a"]
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        error = await rpc_error(
            api.PublishAnnouncement(
                pb.PublishAnnouncementRequest(unit_id="nowhere", title="t", body="b"), metadata=who["admin"]
            )
        )
        assert (error.code(), field_violations(error)) == (grpc.StatusCode.INVALID_ARGUMENT, ["unit_id"])
        error = await rpc_error(
            api.PublishAnnouncement(
                pb.PublishAnnouncementRequest(unit_id="b1", title=" ", body=""), metadata=who["mgr"]
            )
        )
        assert (error.code(), sorted(field_violations(error))) == (grpc.StatusCode.INVALID_ARGUMENT, ["body", "title"])

        published = await api.PublishAnnouncement(
            pb.PublishAnnouncementRequest(unit_id="b1", title="三月销售例会", body="周五下午三点,全体参加。"),
            metadata=who["mgr"],
        )
        assert (published.recipients, published.org_path, published.read_count) == (3, "/c/r1/b1/", 0)
        async with running.app.ctx.sessions() as session:
            rows = (await session.execute(select(outbox.c.envelope))).all()
        events = [Envelope.FromString(r.envelope) for r in rows]
        [event] = [e for e in events if e.type == "salesgrid.activities.announcement.published"]
        assert (event.actor_id, ActivitiesAnnouncementPublished.FromString(event.payload).recipients) == ("mgr", 3)

        async def items(user: str) -> list[ipb.InboxItem]:
            return list((await inbox.ListInbox(ipb.ListInboxRequest(kind="announcement"), metadata=who[user])).items)

        # delivered through the service's own stream to the subtree's active people only
        for user in ("mgr", "rep-a", "rep-b"):
            [item] = await eventually(lambda user=user: items(user))
            assert (item.record.type, item.record.id, item.title) == (
                "announcement",
                published.id,
                "Announcement: 三月销售例会",
            )
        assert await items("rep-d") == [] and await items("admin") == []  # rep-gone: see the receipts below

        # reading in the inbox is a receipt; so is marking the announcement read (which reads the item)
        [item_a] = await items("rep-a")
        await inbox.MarkRead(ipb.MarkReadRequest(id=item_a.id), metadata=who["rep-a"])
        read_b = await api.MarkAnnouncementRead(pb.GetAnnouncementRequest(id=published.id), metadata=who["rep-b"])
        assert read_b.read and read_b.read_at.seconds > 0
        assert [i.read for i in await items("rep-b")] == [True]

        receipts = await api.GetReadReceipts(pb.GetAnnouncementRequest(id=published.id), metadata=who["mgr"])
        assert (receipts.recipients, receipts.read, receipts.unread) == (3, 2, 1)
        assert [(r.user_id, r.read) for r in receipts.receipts] == [("mgr", False), ("rep-a", True), ("rep-b", True)]
        assert (await api.GetReadReceipts(pb.GetAnnouncementRequest(id=published.id), metadata=who["admin"])).read == 2
        for user, code in (("rep-a", grpc.StatusCode.PERMISSION_DENIED), ("mgr2", grpc.StatusCode.NOT_FOUND)):
            error = await rpc_error(api.GetReadReceipts(pb.GetAnnouncementRequest(id=published.id), metadata=who[user]))
            assert error.code() == code, user
        error = await rpc_error(api.GetAnnouncement(pb.GetAnnouncementRequest(id=published.id), metadata=who["rep-d"]))
        assert error.code() == grpc.StatusCode.NOT_FOUND

        unread = await api.ListAnnouncements(
            pb.ListAnnouncementsRequest(mine=True, unread_only=True), metadata=who["mgr"]
        )
        assert [a.id for a in unread.announcements] == [published.id]
        # marking all one's notices read reads the announcements among them too
        await inbox.MarkAllRead(ipb.MarkAllReadRequest(), metadata=who["mgr"])
        assert (await api.GetReadReceipts(pb.GetAnnouncementRequest(id=published.id), metadata=who["mgr"])).unread == 0
        mine = await api.ListAnnouncements(pb.ListAnnouncementsRequest(mine=True), metadata=who["rep-a"])
        assert [(a.id, a.read, a.body) for a in mine.announcements] == [(published.id, True, "周五下午三点,全体参加。")]
        unread = await api.ListAnnouncements(
            pb.ListAnnouncementsRequest(mine=True, unread_only=True), metadata=who["mgr"]
        )
        assert list(unread.announcements) == []
        assert (
            list(
                (
                    await api.ListAnnouncements(pb.ListAnnouncementsRequest(mine=True), metadata=who["rep-d"])
                ).announcements
            )
            == []
        )
        published_view = await api.ListAnnouncements(pb.ListAnnouncementsRequest(), metadata=who["admin"])
        assert [(a.id, a.read_count) for a in published_view.announcements] == [(published.id, 3)]
        assert (
            list((await api.ListAnnouncements(pb.ListAnnouncementsRequest(), metadata=who["mgr2"])).announcements) == []
        )
