"""Leads and the lead assignment rules -> proto."""

from __future__ import annotations

from collections.abc import Iterable

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain.lead_assignment import AssignmentRule
from salesgrid_pipeline.domain.leads import Lead


def rules_pb(rules: Iterable[AssignmentRule]) -> pb.LeadAssignmentRules:
    return pb.LeadAssignmentRules(
        rules=[
            pb.LeadAssignmentRule(region=r.region, industry=r.industry, rep_id=r.rep_id or "", team_id=r.team_id or "")
            for r in rules
        ]
    )


def lead_pb(lead: Lead) -> pb.Lead:
    amount = lead.estimated_amount
    return pb.Lead(
        id=lead.lead_id,
        company_name=lead.company_name,
        contact_name=lead.contact_name,
        phone=lead.phone,
        email=lead.email,
        region=lead.region,
        industry=lead.industry,
        source=lead.source,
        estimated_amount=pb.PipelineMoney(amount=str(amount.amount), currency=amount.currency) if amount else None,
        status=lead.status.value,
        owner_id=lead.owner_id or "",
        org_path=lead.org_path,
        assigned_at=to_timestamp(lead.assigned_at),
        last_followed_up_at=to_timestamp(lead.last_followed_up_at),
        closed_reason=lead.closed_reason or "",
        closed_at=to_timestamp(lead.closed_at),
        created_at=to_timestamp(lead.created_at),
        created_by=lead.created_by,
        version=lead.version,
        custom_fields=struct_of(lead.custom_fields),
    )
