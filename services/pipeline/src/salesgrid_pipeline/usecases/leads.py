"""Leads use cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import orgpaths
from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import Conflict, ValidationFailed
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.ids import new_id
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import OpportunityInput, validate_opportunity
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.payloads import lead_converted
from salesgrid_pipeline.stores import leads as lead_store

from salesgrid_pipeline.usecases.lead_assignment import LeadAssignmentMixin
from salesgrid_pipeline.usecases._support import (
    LEAD_ASSIGN,
    LEAD_CREATE,
    LEAD_FIELDS,
    LEAD_READ,
    LEAD_UPDATE,
    OPP_CREATE,
)


def _ancestor_paths(org_path: str) -> list[str]:
    """ "/c/r1/b1/" → ["/c/", "/c/r1/", "/c/r1/b1/"]: the units whose lead pools a member sees."""
    return orgpaths.ancestor_paths(org_path)


class LeadsMixin(LeadAssignmentMixin):
    """PipelineUseCases: leads."""

    async def _visible_lead(
        self, session: AsyncSession, principal: Principal, lead_id: str, permission: str
    ) -> lead_rules.Lead:
        return await lead_store.load_in_scope(session, principal, lead_id, permission)

    async def create_lead(
        self,
        principal: Principal,
        fields: Mapping[str, str],
        estimated_amount: Money | None,
        assign_to: str,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> lead_rules.Lead:
        async with self.sessions() as session, session.begin():
            return await self._create_lead(session, principal, fields, estimated_amount, assign_to, custom_fields)

    async def _create_lead(
        self,
        session: AsyncSession,
        principal: Principal,
        fields: Mapping[str, str],
        estimated_amount: Money | None,
        assign_to: str,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> lead_rules.Lead:
        """The single-create rules in the caller's transaction (an import runs each row in a savepoint)."""
        principal.require(LEAD_CREATE)
        now = self.clock()
        lead = lead_rules.new_lead(
            new_id(),
            fields.get("company_name", ""),
            now,
            estimated_amount=estimated_amount,
            **{k: fields.get(k, "") for k in ("contact_name", "phone", "email", "region", "industry", "source")},
        )
        org_path = principal.org_path
        if assign_to:
            principal.require(LEAD_ASSIGN)
            rep, org_path = await self._user_in_scope(session, principal, LEAD_ASSIGN, assign_to, "assign_to")
            lead = lead_rules.assign(lead, rep, now)
        else:
            by_rule = await self._assign_by_rule(session, lead)
            if by_rule is not None:
                lead, org_path = lead_rules.assign(lead, by_rule.user_id, now), by_rule.org_path
        lead = replace(
            lead,
            org_path=org_path,
            created_by=principal.subject_id,
            custom_fields=await apply_values(session, LEAD_FIELDS, lead.lead_id, {}, custom_fields, creating=True),
        )
        lead_store.insert(session, lead)
        await self._lead_event(session, "created", lead, principal, now)
        if lead.owner_id:
            await self._lead_event(session, "assigned", lead, principal, now)
        return lead

    async def update_lead_custom_fields(
        self, principal: Principal, lead_id: str, expected_version: int, custom_fields: Mapping[str, Any] | None
    ) -> lead_rules.Lead:
        if not custom_fields:
            raise ValidationFailed("give at least one custom field", "custom_fields")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            lead = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            if expected_version != lead.version:
                raise Conflict.stale_version(
                    f"the lead is at version {lead.version}, not {expected_version}",
                    "expected_version",
                    current=lead.version,
                    sent=expected_version,
                )
            values = await apply_values(session, LEAD_FIELDS, lead.lead_id, lead.custom_fields, custom_fields)
            lead = await lead_store.save(session, replace(lead, custom_fields=values))
            await self._lead_event(session, "custom_fields_changed", lead, principal, now)
            return lead

    async def get_lead(self, principal: Principal, lead_id: str) -> lead_rules.Lead:
        async with self.sessions() as session:
            return await self._visible_lead(session, principal, lead_id, LEAD_READ)

    async def list_leads(
        self,
        principal: Principal,
        *,
        status: str,
        owner_id: str,
        page_size: int,
        after: str,
        custom_fields: Mapping[str, str] | None = None,
    ) -> tuple[list[lead_rules.Lead], str]:
        principal.require(LEAD_READ)
        async with self.sessions() as session:
            return await lead_store.page_in_scope(
                session,
                principal,
                LEAD_READ,
                status=status,
                owner_id=owner_id,
                custom_fields=custom_fields or {},
                page_size=page_size,
                after=after,
            )

    async def assign_lead(self, principal: Principal, lead_id: str, rep_id: str) -> lead_rules.Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            lead = await self._visible_lead(session, principal, lead_id, LEAD_ASSIGN)
            if not rep_id:
                raise ValidationFailed("is required", "rep_id")
            rep, org_path = await self._user_in_scope(session, principal, LEAD_ASSIGN, rep_id, "rep_id")
            previous = lead.owner_id or ""
            lead = await lead_store.save(session, replace(lead_rules.assign(lead, rep, now), org_path=org_path))
            await self._lead_event(session, "assigned", lead, principal, now, previous)
            return lead

    async def claim_lead(self, principal: Principal, lead_id: str) -> lead_rules.Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            lead = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            claimed = replace(lead_rules.claim(lead, principal.subject_id, now), org_path=principal.org_path)
            lead = await lead_store.save(session, claimed)
            await self._lead_event(session, "claimed", lead, principal, now)
            return lead

    async def close_lead(self, principal: Principal, lead_id: str, reason: str) -> lead_rules.Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            lead = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            lead = await lead_store.save(session, lead_rules.close_invalid(lead, reason, now))
            await self._lead_event(session, "closed", lead, principal, now)
            return lead

    async def convert_lead(
        self, principal: Principal, lead_id: str, opportunity_name: str, amount: Money | None, expected_close_date: date
    ) -> tuple[lead_rules.Lead, Opportunity]:
        """Customer through the customers service (its duplicate check applies), then here, in one
        transaction, the opportunity and the converted lead. Everything local is validated before
        the customer is created, so bad input leaves nothing behind in either service."""
        principal.require(OPP_CREATE)
        now = self.clock()
        async with self.sessions() as session:
            lead = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            plan = lead_rules.convert(lead, now, opportunity_name=opportunity_name or None)
            seen_version, owner, org_path = lead.version, lead.owner_id or "", lead.org_path
        amount = amount or plan.opportunity.amount
        if amount is None:
            raise ValidationFailed("is required (the lead has no estimated amount)", "amount")
        data = OpportunityInput(
            customer_id="(new)", name=plan.opportunity.name, amount=amount, expected_close_date=expected_close_date
        )
        validate_opportunity(data, (), now)
        assert plan.customer is not None  # converting always creates the customer
        customer = await self.customers.create_customer(principal, plan.customer, "company_name")
        async with self.sessions() as session, session.begin():
            lead = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            if lead.version != seen_version:
                raise Conflict(
                    f"the lead changed while converting; customer {customer.customer_id} was created, "
                    "create the opportunity on it",
                    "id",
                )
            opportunity = await self._insert_opportunity(
                session,
                principal,
                replace(data, customer_id=customer.customer_id),
                owner,
                org_path,
                now,
                enforce_required=False,
            )
            lead = await lead_store.save(session, replace(plan.lead, org_path=org_path))
            payload = lead_converted(lead, customer.customer_id, opportunity.opportunity_id)
            await self._emit(session, "lead.converted", payload, lead.lead_id, lead.org_path, principal, now)
            return lead, opportunity

    async def record_lead_follow_up(self, session: AsyncSession, lead_id: str, owner_id: str, at: datetime) -> bool:
        """A follow-up logged by the lead's owner restarts its reclaim window; follow-ups of
        anyone else, or of a lead no longer assigned, change nothing."""
        lead = await lead_store.load(session, lead_id)
        if lead is None or lead.status is not lead_rules.LeadStatus.ASSIGNED or lead.owner_id != owner_id:
            return False
        followed = lead_rules.record_follow_up(lead, at)
        if followed.last_followed_up_at == lead.last_followed_up_at:
            return False  # an older, out-of-order event
        await lead_store.save(session, followed)
        return True
