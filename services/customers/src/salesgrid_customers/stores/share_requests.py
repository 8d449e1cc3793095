"""The share-request store: the one mapping between a `customer_share_requests` row and the
domain ShareRequest, lookups, inserts (one open request per rep and customer, which the database
decides) and the decision's compare-and-set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.paging import keyset_page
from salesgrid_customers import models
from salesgrid_customers.domain.errors import AlreadyExists, Conflict
from salesgrid_customers.domain.share_requests import RequestStatus, ShareRequest

Row = models.ShareRequestRow


def share_request_from_row(row: Row) -> ShareRequest:
    return ShareRequest(
        id=row.id,
        customer_id=row.customer_id,
        requester_id=row.requester_id,
        role=row.role,
        message=row.message,
        status=RequestStatus(row.status),
        created_at=row.created_at,
        decided_by=row.decided_by,
        decision_note=row.decision_note,
        decided_at=row.decided_at,
    )


def share_request_to_row(request: ShareRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "customer_id": request.customer_id,
        "requester_id": request.requester_id,
        "role": request.role,
        "message": request.message,
        "status": request.status.value,
        "decided_by": request.decided_by,
        "decision_note": request.decision_note,
        "created_at": request.created_at,
        "decided_at": request.decided_at,
    }


async def get_share_request(session: AsyncSession, request_id: str) -> ShareRequest | None:
    row = await session.get(Row, request_id) if request_id else None
    return None if row is None else share_request_from_row(row)


async def insert_share_request(session: AsyncSession, request: ShareRequest) -> None:
    session.add(Row(**share_request_to_row(request)))
    try:
        await session.flush()
    except IntegrityError:  # a concurrent request of the same rep won the unique index
        raise AlreadyExists("you already asked to share this customer; wait for the decision", "customer_id") from None


async def save_decision(session: AsyncSession, decided: ShareRequest) -> ShareRequest:
    """Compare-and-set on the pending status: of two deciders at once, one wins and the other is told."""
    values = share_request_to_row(decided)
    result = await session.execute(
        update(Row)
        .where(Row.id == decided.id, Row.status == RequestStatus.PENDING.value)
        .values(**{name: values[name] for name in ("status", "decided_by", "decision_note", "decided_at")})
    )
    if result.rowcount != 1:
        raise Conflict("the request was decided concurrently", "id")
    return decided


async def has_pending_request(session: AsyncSession, customer_id: str, requester_id: str) -> bool:
    pending = await session.scalar(
        select(Row.id).where(
            Row.customer_id == customer_id,
            Row.requester_id == requester_id,
            Row.status == RequestStatus.PENDING,
        )
    )
    return pending is not None


async def share_requests_page(
    session: AsyncSession,
    *,
    requester_id: str = "",
    owner_id: str = "",
    subtree: str = "",
    status: RequestStatus | None,
    page_size: int,
    cursor: str,
) -> tuple[list[ShareRequest], str]:
    """Newest first: the requests of `requester_id`, or those about customers `owner_id` owns or
    (with `subtree`) that someone in that org subtree owns; of one status or all."""
    customer = models.Customer
    query = select(Row).join(customer, customer.id == Row.customer_id)
    if requester_id:
        query = query.where(Row.requester_id == requester_id)
    else:
        mine = customer.owner_id == owner_id
        if subtree:
            mine = or_(
                mine, and_(customer.owner_id.is_not(None), customer.org_path.startswith(subtree, autoescape=True))
            )
        query = query.where(mine)
    if status is not None:
        query = query.where(Row.status == status)
    found = await keyset_page(session, query, Row.id, page_size, cursor)
    return [share_request_from_row(row) for row in found.items], found.next_token
