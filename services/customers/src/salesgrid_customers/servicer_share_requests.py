"""Thin gRPC servicer of share requests: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.customers.v1 import share_requests_pb2 as pb
from salesgrid.customers.v1 import share_requests_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_customers.usecases.share_requests import ShareRequestUseCases, ShareRequestView

Ctx = grpc.aio.ServicerContext


def _person(view: ShareRequestView, user_id: str | None) -> pb.Person | None:
    if not user_id:
        return None
    known = view.people.get(user_id)
    return pb.Person(
        user_id=user_id,
        display_name=known.display_name if known else "",
        unit_id=known.unit_id if known else "",
        unit_name=known.unit_name if known else "",
    )


def share_request_pb(view: ShareRequestView) -> pb.ShareRequest:
    r, c = view.request, view.customer
    return pb.ShareRequest(
        id=r.id,
        customer_id=c.id,
        customer_name=c.legal_name,
        requester=_person(view, r.requester_id),
        owner=_person(view, c.owner_id),
        role=r.role,
        message=r.message,
        status=r.status.value,
        decided_by=_person(view, r.decided_by),
        decision_note=r.decision_note,
        created_at=to_timestamp(r.created_at),
        decided_at=to_timestamp(r.decided_at),
    )


class ShareRequestsServicer(pb_grpc.ShareRequestsServicer):
    def __init__(self, uc: ShareRequestUseCases) -> None:
        self.uc = uc

    async def RequestShare(self, request: pb.RequestShareRequest, context: Ctx) -> pb.ShareRequest:
        return share_request_pb(
            await self.uc.request_share(caller(), request.customer_id, request.role, request.message)
        )

    async def DecideShareRequest(self, request: pb.DecideShareRequestRequest, context: Ctx) -> pb.ShareRequest:
        return share_request_pb(await self.uc.decide(caller(), request.id, request.accept, request.note))

    async def GetShareRequest(self, request: pb.GetShareRequestRequest, context: Ctx) -> pb.ShareRequest:
        return share_request_pb(await self.uc.get(caller(), request.id))

    async def ListShareRequests(
        self, request: pb.ListShareRequestsRequest, context: Ctx
    ) -> pb.ListShareRequestsResponse:
        views, cursor = await self.uc.list(caller(), request.box, request.status, request.page_size, request.cursor)
        return pb.ListShareRequestsResponse(requests=[share_request_pb(v) for v in views], next_cursor=cursor)
