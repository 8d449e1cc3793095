"""Quotes with their special-discount approval steps -> proto."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.approval import ApprovalStep
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain.quotes import Quote
from salesgrid_pipeline.stores.quotes import lines_json
from salesgrid_pipeline.usecases import PipelineUseCases


def quote_pb(quote: Quote, steps: Iterable[ApprovalStep] = ()) -> pb.Quote:
    return pb.Quote(
        id=quote.quote_id,
        opportunity_id=quote.opportunity_id,
        version=quote.version,
        currency=quote.currency,
        lines=[pb.QuoteLine(**line) for line in lines_json(quote)],
        subtotal=str(quote.pricing.subtotal),
        discount_total=str(quote.pricing.discount_total),
        total=str(quote.pricing.total),
        status=quote.status.value,
        created_at=to_timestamp(quote.created_at),
        created_by=quote.created_by,
        accepted_at=to_timestamp(quote.accepted_at),
        accepted_by=quote.accepted_by or "",
        contract_id=quote.contract_id,
        discount_rate=str(quote.discount_rate),
        discount_approval=quote.discount_approval,
        approval_steps=[
            pb.QuoteApprovalStep(
                order=s.order,
                role=s.role,
                approver_id=s.approver_id,
                status=s.status.value,
                activated_at=to_timestamp(s.activated_at),
                decided_at=to_timestamp(s.decided_at),
                comment=s.comment or "",
            )
            for s in steps
        ],
    )


async def quotes_pb(uc: PipelineUseCases, quotes: list[Quote]) -> list[pb.Quote]:
    """Quotes with their special-discount approval steps (one query for the page's steps)."""
    steps = await uc.quote_steps([q.quote_id for q in quotes if q.discount_approval])
    return [quote_pb(q, steps.get(q.quote_id, ())) for q in quotes]
