"""Thin gRPC servicers of announcements and spot checks: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.activities.v1 import announcements_pb2 as apb
from salesgrid.activities.v1 import announcements_pb2_grpc as apb_grpc
from salesgrid.activities.v1 import spot_checks_pb2 as spb
from salesgrid.activities.v1 import spot_checks_pb2_grpc as spb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.spot_checks import SpotCheck, ledger_totals
from salesgrid_activities.usecases.announcements import AnnouncementsUseCases, AnnouncementView
from salesgrid_activities.usecases.spot_checks import SpotChecksUseCases

Ctx = grpc.aio.ServicerContext


def announcement_pb(view: AnnouncementView) -> apb.Announcement:
    row, receipt = view.announcement, view.receipt
    return apb.Announcement(
        id=row.id,
        publisher_id=row.publisher_id,
        unit_id=row.unit_id,
        org_path=row.org_path,
        title=row.title,
        body=row.body,
        published_at=to_timestamp(row.published_at),
        recipients=row.recipients,
        read_count=view.read_count or 0,
        read=bool(receipt and receipt.read_at),
        read_at=to_timestamp(receipt.read_at if receipt else None),
    )


class AnnouncementsServicer(apb_grpc.AnnouncementsServicer):
    def __init__(self, uc: AnnouncementsUseCases) -> None:
        self.uc = uc

    async def PublishAnnouncement(self, request: apb.PublishAnnouncementRequest, context: Ctx) -> apb.Announcement:
        return announcement_pb(
            await self.uc.publish(caller(), unit_id=request.unit_id, title=request.title, body=request.body)
        )

    async def ListAnnouncements(
        self, request: apb.ListAnnouncementsRequest, context: Ctx
    ) -> apb.ListAnnouncementsResponse:
        page = await self.uc.list(
            caller(),
            mine=request.mine,
            unread_only=request.unread_only,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return apb.ListAnnouncementsResponse(
            announcements=[announcement_pb(v) for v in page.items], next_page_token=page.next_token
        )

    async def GetAnnouncement(self, request: apb.GetAnnouncementRequest, context: Ctx) -> apb.Announcement:
        return announcement_pb(await self.uc.get(caller(), request.id))

    async def MarkAnnouncementRead(self, request: apb.GetAnnouncementRequest, context: Ctx) -> apb.Announcement:
        return announcement_pb(await self.uc.mark_read(caller(), request.id))

    async def GetReadReceipts(self, request: apb.GetAnnouncementRequest, context: Ctx) -> apb.ReadReceipts:
        r = await self.uc.receipts(caller(), request.id)
        return apb.ReadReceipts(
            announcement_id=r.announcement_id,
            recipients=r.counts.recipients,
            read=r.counts.read,
            unread=r.counts.unread,
            receipts=[
                apb.ReadReceipt(user_id=x.user_id, read=x.read_at is not None, read_at=to_timestamp(x.read_at))
                for x in r.receipts
            ],
        )


def spot_check_pb(row: SpotCheck) -> spb.SpotCheck:
    return spb.SpotCheck(
        id=row.id,
        follow_up_id=row.follow_up_id,
        week=row.week,
        rep_id=row.owner_id,
        verifier_id=row.verifier_id,
        verdict=row.verdict.value,
        note=row.note,
        fine="" if row.fine is None else str(row.fine),
        currency=row.currency,
        assigned_at=to_timestamp(row.assigned_at),
        verified_at=to_timestamp(row.verified_at),
        version=row.version,
    )


class SpotChecksServicer(spb_grpc.SpotChecksServicer):
    def __init__(self, uc: SpotChecksUseCases) -> None:
        self.uc = uc

    async def ListSpotChecks(self, request: spb.ListSpotChecksRequest, context: Ctx) -> spb.ListSpotChecksResponse:
        page = await self.uc.list(
            caller(),
            assigned_to_me=request.assigned_to_me,
            verdict=request.verdict,
            week=request.week,
            rep_id=request.rep_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return spb.ListSpotChecksResponse(
            spot_checks=[spot_check_pb(r) for r in page.items], next_page_token=page.next_token
        )

    async def VerifySpotCheck(self, request: spb.VerifySpotCheckRequest, context: Ctx) -> spb.SpotCheck:
        return spot_check_pb(
            await self.uc.verify(caller(), request.id, request.verdict, request.note, request.expected_version)
        )

    async def GetFalsificationLedger(
        self, request: spb.GetFalsificationLedgerRequest, context: Ctx
    ) -> spb.FalsificationLedger:
        entries = await self.uc.ledger(
            caller(), from_date=request.from_date, to_date=request.to_date, rep_id=request.rep_id
        )
        return spb.FalsificationLedger(
            entries=[
                spb.FalsificationEntry(
                    rep_id=e.rep_id,
                    kind=e.kind,
                    record_id=e.record_id,
                    found_at=to_timestamp(e.found_at),
                    fine=e.fine,
                    currency=e.currency,
                )
                for e in entries
            ],
            reps=[
                spb.RepFalsifications(rep_id=rep, count=count, total=str(total), currency=currency)
                for rep, count, total, currency in ledger_totals(entries)
            ],
        )
