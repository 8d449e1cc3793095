"""Thin gRPC servicer of the inbox: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.activities.v1 import inbox_pb2 as pb
from salesgrid.activities.v1 import inbox_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.inbox import InboxItem
from salesgrid_activities.usecases.inbox import InboxUseCases

Ctx = grpc.aio.ServicerContext


def item_pb(row: InboxItem) -> pb.InboxItem:
    return pb.InboxItem(
        id=row.id,
        recipient_id=row.owner_id,
        kind=row.kind,
        title=row.title,
        params=dict(row.params),
        record=pb.RecordLink(type=row.record_type, id=row.record_id),
        subject_owner_id=row.subject_owner_id,
        occurred_at=to_timestamp(row.occurred_at),
        read=row.read_at is not None,
        read_at=to_timestamp(row.read_at),
    )


class InboxServicer(pb_grpc.InboxServicer):
    def __init__(self, uc: InboxUseCases) -> None:
        self.uc = uc

    async def ListInbox(self, request: pb.ListInboxRequest, context: Ctx) -> pb.ListInboxResponse:
        page = await self.uc.list(
            caller(),
            team=request.team,
            unread_only=request.unread_only,
            kind=request.kind,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListInboxResponse(items=[item_pb(r) for r in page.items], next_page_token=page.next_token)

    async def CountUnread(self, request: pb.CountUnreadRequest, context: Ctx) -> pb.CountUnreadResponse:
        count = await self.uc.unread_count(caller())
        return pb.CountUnreadResponse(unread=count.total, by_kind=count.by_kind)

    async def MarkRead(self, request: pb.MarkReadRequest, context: Ctx) -> pb.InboxItem:
        return item_pb(await self.uc.mark_read(caller(), request.id))

    async def MarkAllRead(self, request: pb.MarkAllReadRequest, context: Ctx) -> pb.MarkAllReadResponse:
        return pb.MarkAllReadResponse(marked=await self.uc.mark_all_read(caller(), request.kind))
