"""Quotes with their special-discount approval steps -> proto."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline import models
from salesgrid_pipeline.usecases import PipelineUseCases


def quote_pb(row: models.Quote, steps: Iterable[models.QuoteApprovalStep] = ()) -> pb.Quote:
    return pb.Quote(
        id=row.id,
        opportunity_id=row.opportunity_id,
        version=row.version,
        currency=row.currency,
        lines=[pb.QuoteLine(**line) for line in row.lines],
        subtotal=row.subtotal,
        discount_total=row.discount_total,
        total=row.total,
        status=row.status,
        created_at=to_timestamp(row.created_at),
        created_by=row.created_by,
        accepted_at=to_timestamp(row.accepted_at),
        accepted_by=row.accepted_by,
        contract_id=row.contract_id or "",
        discount_rate=row.discount_rate or "0",
        discount_approval=row.discount_approval or "",
        approval_steps=[
            pb.QuoteApprovalStep(
                order=s.step_order,
                role=s.role,
                approver_id=s.approver_id,
                status=s.status,
                activated_at=to_timestamp(s.activated_at),
                decided_at=to_timestamp(s.decided_at),
                comment=s.comment or "",
            )
            for s in steps
        ],
    )


async def quotes_pb(uc: PipelineUseCases, rows: list[models.Quote]) -> list[pb.Quote]:
    """Quotes with their special-discount approval steps."""
    steps = await uc.quote_steps([r.id for r in rows if r.discount_approval])
    return [quote_pb(r, steps.get(r.id, ())) for r in rows]
