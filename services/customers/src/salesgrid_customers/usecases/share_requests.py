"""Share request use cases: ask, decide (accept shares under the ordinary sharing rules, in the
same transaction), read and list. Each change is an event (share_request.created / accepted /
declined) that reaches identity's audit trail and the people's inboxes (activities)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.customers_events_pb2 import CustomerShareRequestState
from salesgrid_common.auth.principal import Principal
from salesgrid_common.directory import get_user
from salesgrid_common.ids import new_id
from salesgrid_customers.domain import share_requests as rules
from salesgrid_customers.domain.access import MANAGER_ROLES, is_owner_or_manager
from salesgrid_customers.domain.customer import Customer
from salesgrid_customers.domain.dedup import OwnerInfo
from salesgrid_customers.stores.customers import active_customer, customer_by_id, customers_by_id
from salesgrid_customers.stores.share_requests import (
    get_share_request,
    has_pending_request,
    insert_share_request,
    save_decision,
    share_requests_page,
)
from salesgrid_customers.domain.errors import NotFound, PermissionDenied, ValidationFailed
from salesgrid_customers.owners import owners_of
from salesgrid_customers.stores.shares import shares_of
from salesgrid_customers.usecases._support import actor_of

if TYPE_CHECKING:
    from salesgrid_customers.usecases import CustomersUseCases


@dataclass(frozen=True)
class ShareRequestView:
    request: rules.ShareRequest
    customer: Customer
    people: dict[str, OwnerInfo]  # requester, owner and decider, by user id


class ShareRequestUseCases:
    def __init__(self, customers: CustomersUseCases) -> None:
        self.customers = customers

    async def _customer(self, session: AsyncSession, customer_id: str) -> Customer:
        customer = await active_customer(session, customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} does not exist", "customer_id")
        return customer

    async def _view(self, session: AsyncSession, request: rules.ShareRequest, customer: Customer) -> ShareRequestView:
        people = await owners_of(session, [request.requester_id, customer.owner_id or "", request.decided_by or ""])
        return ShareRequestView(request, customer, people)

    async def _emit(self, session: AsyncSession, verb: str, view: ShareRequestView, principal: Principal) -> None:
        request, customer, people = view.request, view.customer, view.people
        owner = await get_user(session, customer.owner_id) if customer.owner_id else None
        unknown = OwnerInfo("", "", "")
        await self.customers.outbox.record_by(
            session,
            f"share_request.{verb}",
            CustomerShareRequestState(
                request_id=request.id,
                customer_id=customer.id,
                customer_name=customer.legal_name,
                requester_id=request.requester_id,
                requester_name=people.get(request.requester_id, unknown).display_name,
                owner_id=customer.owner_id or "",
                owner_manager_id=(owner.manager_id or "") if owner else "",
                status=request.status.value,
                role=request.role,
                message=request.message,
                decided_by=request.decided_by or "",
                decided_by_name=people.get(request.decided_by or "", unknown).display_name,
                org_path=customer.org_path,
            ),
            principal,
            aggregate_id=request.id,
            org_path=customer.org_path,
            occurred_at=self.customers.clock(),
        )

    def _may_decide(self, principal: Principal, customer: Customer) -> bool:
        return is_owner_or_manager(actor_of(principal), customer.owner_id, customer.owner_unit_path)

    async def request_share(self, principal: Principal, customer_id: str, role: str, message: str) -> ShareRequestView:
        """Any rep who may read customers may ask, for a customer he cannot see (he learnt its id
        and owner from a duplicate warning)."""
        principal.require("customers:read")
        if not customer_id:
            raise ValidationFailed("is required", "customer_id")
        message = message.strip()
        async with self.customers.sessions() as session, session.begin():
            customer = await self._customer(session, customer_id)
            pending = await has_pending_request(session, customer.id, principal.subject_id)
            parsed = rules.check_request(
                requester_id=principal.subject_id,
                owner_id=customer.owner_id,
                shares=await shares_of(session, customer.id),
                role=role,
                message=message,
                already_pending=pending,
            )
            request = rules.ShareRequest(
                id=new_id(),
                customer_id=customer.id,
                requester_id=principal.subject_id,
                role=parsed.value,
                message=message,
                status=rules.RequestStatus.PENDING,
                created_at=self.customers.clock(),
            )
            await insert_share_request(session, request)
            view = await self._view(session, request, customer)
            await self._emit(session, "created", view, principal)
            return view

    async def decide(self, principal: Principal, request_id: str, accept: bool, note: str) -> ShareRequestView:
        """The owner or his manager; accepting shares the customer with the requester under the
        sharing rules (the decider needs customers:share as for any share)."""
        note = note.strip()
        async with self.customers.sessions() as session, session.begin():
            request = await get_share_request(session, request_id)
            if request is None:
                raise NotFound(f"share request {request_id!r} does not exist", "id")
            customer = await self._customer(session, request.customer_id)
            if not self._may_decide(principal, customer):
                raise PermissionDenied("only the customer's owner or his manager may decide this request")
            rules.check_decision(request.status, note)
            if accept:
                await self.customers.apply_share(session, principal, customer, request.requester_id, request.role)
            decided = await save_decision(
                session, request.decided(accept, principal.subject_id, note, self.customers.clock())
            )
            view = await self._view(session, decided, customer)
            await self._emit(session, decided.status.value, view, principal)
            return view

    async def get(self, principal: Principal, request_id: str) -> ShareRequestView:
        async with self.customers.sessions() as session:
            request = await get_share_request(session, request_id)
            if request is None:
                raise NotFound(f"share request {request_id!r} does not exist", "id")
            customer = await customer_by_id(session, request.customer_id)
            if customer is None or not (
                request.requester_id == principal.subject_id or self._may_decide(principal, customer)
            ):
                raise NotFound(f"share request {request_id!r} does not exist", "id")
            return await self._view(session, request, customer)

    async def list(
        self, principal: Principal, box: str, status: str, page_size: int, cursor: str
    ) -> tuple[list[ShareRequestView], str]:
        """outgoing: the caller's own requests; incoming: requests about customers he owns or, as
        a manager, about customers of his subtree; newest first."""
        which, wanted = rules.parse_box(box), rules.parse_status(status)
        outgoing = which is rules.Box.OUTGOING
        manager = bool(set(principal.roles) & MANAGER_ROLES and principal.org_path)
        async with self.customers.sessions() as session:
            requests, next_token = await share_requests_page(
                session,
                requester_id=principal.subject_id if outgoing else "",
                owner_id="" if outgoing else principal.subject_id,
                subtree=principal.org_path if manager and not outgoing else "",
                status=wanted,
                page_size=page_size,
                cursor=cursor,
            )
            customers = await customers_by_id(session, (r.customer_id for r in requests))
            people = await owners_of(
                session,
                [
                    i
                    for r in requests
                    for i in (r.requester_id, customers[r.customer_id].owner_id or "", r.decided_by or "")
                ],
            )
        return [ShareRequestView(r, customers[r.customer_id], people) for r in requests], next_token
