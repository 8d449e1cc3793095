"""Leads and the lead assignment rules -> proto."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline import models
from salesgrid_pipeline.domain.leads import AssignmentRule


def rules_pb(rules: Iterable[AssignmentRule]) -> pb.LeadAssignmentRules:
    return pb.LeadAssignmentRules(
        rules=[
            pb.LeadAssignmentRule(region=r.region, industry=r.industry, rep_id=r.rep_id or "", team_id=r.team_id or "")
            for r in rules
        ]
    )


def lead_pb(row: models.Lead) -> pb.Lead:
    amount = (
        pb.PipelineMoney(amount=row.estimated_amount, currency=row.estimated_currency or "")
        if row.estimated_amount
        else None
    )
    return pb.Lead(
        id=row.id,
        company_name=row.company_name,
        contact_name=row.contact_name,
        phone=row.phone,
        email=row.email,
        region=row.region,
        industry=row.industry,
        source=row.source,
        estimated_amount=amount,
        status=row.status,
        owner_id=row.owner_id,
        org_path=row.org_path,
        assigned_at=to_timestamp(row.assigned_at),
        last_followed_up_at=to_timestamp(row.last_followed_up_at),
        closed_reason=row.closed_reason,
        closed_at=to_timestamp(row.closed_at),
        created_at=to_timestamp(row.created_at),
        created_by=row.created_by,
        version=row.version,
        custom_fields=struct_of(row.custom_fields),
    )
