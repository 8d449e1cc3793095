"""Leads use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import replace
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import PipelineLeadState
from salesgrid_common import orgpaths
from salesgrid_common.auth import Principal, Scope, scope_filter
from salesgrid_common.directory import DirectoryUser, directory_units, directory_users, get_user
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.custom_fields.registry import apply_values, filter_clauses
from salesgrid_common.ids import new_id
from salesgrid_common.paging import keyset_page
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import OpportunityInput, validate_opportunity
from salesgrid_pipeline.domain.opportunities import Opportunity
from salesgrid_pipeline.models import Lead, LeadAssignmentRule, RoundRobinState

from salesgrid_pipeline.usecases._support import (
    LEAD_ASSIGN,
    LEAD_CREATE,
    LEAD_FIELDS,
    LEAD_READ,
    LEAD_UPDATE,
    OPP_CREATE,
    PipelineUseCasesBase,
)


def _ancestor_paths(org_path: str) -> list[str]:
    """ "/c/r1/b1/" → ["/c/", "/c/r1/", "/c/r1/b1/"]: the units whose lead pools a member sees."""
    return orgpaths.ancestor_paths(org_path)


class LeadsMixin(PipelineUseCasesBase):
    """PipelineUseCases: leads."""

    def _pool_visible(self, principal: Principal, row: Lead) -> bool:
        """Everyone sees the pool of his own unit and of the units above it (managers also see,
        through their scope, the pools below them)."""
        return row.status == "pool" and row.org_path in _ancestor_paths(principal.org_path)

    async def _visible_lead(self, session: AsyncSession, principal: Principal, lead_id: str, permission: str) -> Lead:
        principal.require(permission)
        row = await session.get(Lead, lead_id)
        if row is None:
            raise NotFound(f"lead {lead_id!r} does not exist", "id")
        if not (self._pool_visible(principal, row) or principal.can_see(permission, row.owner_id, row.org_path)):
            raise PermissionDenied("this lead is outside your scope")
        return row

    async def create_lead(
        self,
        principal: Principal,
        fields: Mapping[str, str],
        estimated_amount: Money | None,
        assign_to: str,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> Lead:
        principal.require(LEAD_CREATE)
        now = self.clock()
        lead = lead_rules.new_lead(
            new_id(),
            fields.get("company_name", ""),
            now,
            estimated_amount=estimated_amount,
            **{k: fields.get(k, "") for k in ("contact_name", "phone", "email", "region", "industry", "source")},
        )
        async with self.sessions() as session, session.begin():
            org_path = principal.org_path
            if assign_to:
                principal.require(LEAD_ASSIGN)
                rep, org_path = await self._user_in_scope(session, principal, LEAD_ASSIGN, assign_to, "assign_to")
                lead = lead_rules.assign(lead, rep, now)
            else:
                by_rule = await self._assign_by_rule(session, lead)
                if by_rule is not None:
                    lead, org_path = lead_rules.assign(lead, by_rule.user_id, now), by_rule.org_path
            row = Lead(
                id=lead.lead_id,
                company_name=lead.company_name,
                contact_name=lead.contact_name,
                phone=lead.phone,
                email=lead.email,
                region=lead.region,
                industry=lead.industry,
                source=lead.source,
                estimated_amount=str(estimated_amount.amount) if estimated_amount else None,
                estimated_currency=estimated_amount.currency if estimated_amount else None,
                created_at=now,
                created_by=principal.subject_id,
                version=0,
                status="pool",
                org_path=org_path,
                custom_fields=await apply_values(session, LEAD_FIELDS, lead.lead_id, {}, custom_fields, creating=True),
            )
            self._lead_store(row, lead, org_path, now)
            session.add(row)
            await self._lead_event(session, "created", row, principal, now)
            if row.owner_id:
                await self._lead_event(session, "assigned", row, principal, now)
            return row

    async def update_lead_custom_fields(
        self, principal: Principal, lead_id: str, expected_version: int, custom_fields: Mapping[str, Any] | None
    ) -> Lead:
        if not custom_fields:
            raise ValidationFailed("give at least one custom field", "custom_fields")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            if expected_version != row.version:
                raise Conflict(f"the lead is at version {row.version}, not {expected_version}", "expected_version")
            row.custom_fields = await apply_values(session, LEAD_FIELDS, row.id, row.custom_fields, custom_fields)
            row.version += 1
            await self._lead_event(session, "custom_fields_changed", row, principal, now)
            return row

    @staticmethod
    async def _rules(session: AsyncSession) -> list[lead_rules.AssignmentRule]:
        rows = (await session.scalars(select(LeadAssignmentRule).order_by(LeadAssignmentRule.position))).all()
        return [lead_rules.AssignmentRule(r.region, r.industry, r.rep_id or None, r.team_id or None) for r in rows]

    @staticmethod
    async def _team_reps(session: AsyncSession, team_id: str) -> list[str]:
        """The team's active reps from the directory replica, in a stable order every replica shares."""
        rows = (
            await session.execute(
                select(directory_users.c.user_id, directory_users.c.roles)
                .where(directory_users.c.unit_id == team_id, directory_users.c.active.is_(True))
                .order_by(directory_users.c.user_id)
            )
        ).all()
        return [r.user_id for r in rows if "rep" in r.roles.split(",")]

    async def _assign_by_rule(self, session: AsyncSession, lead: lead_rules.Lead) -> DirectoryUser | None:
        """The rep the rule table gives this lead (None: no rule matches, it stays in the pool).
        Round robin reads and advances the team's state row in the lead's transaction, locked on
        PostgreSQL, so replicas hand out leads in one shared order."""
        rules = await self._rules(session)
        rule = lead_rules.match_rule(rules, lead.region, lead.industry)
        if rule is None:
            return None
        teams: dict[str, list[str]] = {}
        last: dict[str, str] = {}
        state: RoundRobinState | None = None
        if rule.team_id:
            state = await session.scalar(
                select(RoundRobinState).where(RoundRobinState.team_id == rule.team_id).with_for_update()
            )
            teams[rule.team_id] = await self._team_reps(session, rule.team_id)
            if state is not None:
                last[rule.team_id] = state.last_assignee
        try:
            chosen = lead_rules.choose_assignee(lead, rules, teams, last)
        except FailedPrecondition:  # a team without active reps: the lead waits in the pool
            return None
        if chosen is None:
            return None
        user = await get_user(session, chosen.rep_id)
        if user is None or not user.active:  # a rule naming a departed rep: the lead waits in the pool
            return None
        if chosen.team_id is not None:
            if state is None:
                session.add(RoundRobinState(team_id=chosen.team_id, last_assignee=chosen.rep_id))
            else:
                state.last_assignee = chosen.rep_id
        return user

    @staticmethod
    def _require_rule_admin(principal: Principal) -> None:
        if principal.require(LEAD_ASSIGN) < Scope.SUBTREE:
            raise PermissionDenied(f"{LEAD_ASSIGN} at scope subtree or all is needed to manage assignment rules")

    async def get_assignment_rules(self, principal: Principal) -> list[lead_rules.AssignmentRule]:
        self._require_rule_admin(principal)
        async with self.sessions() as session:
            return await self._rules(session)

    async def put_assignment_rules(
        self, principal: Principal, rules: Sequence[lead_rules.AssignmentRule]
    ) -> list[lead_rules.AssignmentRule]:
        """Replace the rule table; every target must be an active rep / a known team in the caller's scope."""
        self._require_rule_admin(principal)
        rules = [
            lead_rules.AssignmentRule(
                r.region.strip(),
                r.industry.strip(),
                (r.rep_id or "").strip() or None,
                (r.team_id or "").strip() or None,
            )
            for r in rules
        ]
        lead_rules.validate_rules(rules)
        async with self.sessions() as session, session.begin():
            problems: list[tuple[str, str]] = []
            for i, rule in enumerate(rules):
                if rule.rep_id is not None:
                    user = await get_user(session, rule.rep_id)
                    if user is None or not user.active:
                        problems.append((f"rules[{i}].rep_id", "is not a known active user"))
                    elif not principal.can_see(LEAD_ASSIGN, user.user_id, user.org_path):
                        problems.append((f"rules[{i}].rep_id", "is outside your scope"))
                else:
                    path = await session.scalar(
                        select(directory_units.c.path).where(
                            directory_units.c.unit_id == rule.team_id, directory_units.c.active.is_(True)
                        )
                    )
                    if path is None:
                        problems.append((f"rules[{i}].team_id", "is not a known org unit"))
                    elif not principal.can_see(LEAD_ASSIGN, "", path):
                        problems.append((f"rules[{i}].team_id", "is outside your scope"))
            if problems:
                raise ValidationFailed.many(problems)
            for old in (await session.scalars(select(LeadAssignmentRule))).all():
                await session.delete(old)
            await session.flush()
            session.add_all(
                [
                    LeadAssignmentRule(
                        position=i, region=r.region, industry=r.industry, rep_id=r.rep_id or "", team_id=r.team_id or ""
                    )
                    for i, r in enumerate(rules)
                ]
            )
        return rules

    async def get_lead(self, principal: Principal, lead_id: str) -> Lead:
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
    ) -> tuple[list[Lead], str]:
        principal.require(LEAD_READ)
        visible = or_(
            scope_filter(principal, LEAD_READ, Lead.owner_id, Lead.org_path),
            and_(Lead.status == "pool", Lead.org_path.in_(_ancestor_paths(principal.org_path))),
        )
        stmt = select(Lead).where(visible)
        if status:
            stmt = stmt.where(Lead.status == status)
        if owner_id:
            stmt = stmt.where(Lead.owner_id == owner_id)
        async with self.sessions() as session:
            stmt = stmt.where(*await filter_clauses(session, LEAD_FIELDS, Lead.id, custom_fields or {}))
            found = await keyset_page(session, stmt, Lead.id, page_size, after, newest_first=False)
        return found.items, found.next_token

    async def assign_lead(self, principal: Principal, lead_id: str, rep_id: str) -> Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible_lead(session, principal, lead_id, LEAD_ASSIGN)
            if not rep_id:
                raise ValidationFailed("is required", "rep_id")
            rep, org_path = await self._user_in_scope(session, principal, LEAD_ASSIGN, rep_id, "rep_id")
            previous = row.owner_id
            self._lead_store(row, lead_rules.assign(self._lead_domain(row), rep, now), org_path, now)
            await self._lead_event(session, "assigned", row, principal, now, previous)
            return row

    async def claim_lead(self, principal: Principal, lead_id: str) -> Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            lead = lead_rules.claim(self._lead_domain(row), principal.subject_id, now)
            self._lead_store(row, lead, principal.org_path, now)
            await self._lead_event(session, "claimed", row, principal, now)
            return row

    async def close_lead(self, principal: Principal, lead_id: str, reason: str) -> Lead:
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            lead = lead_rules.close_invalid(self._lead_domain(row), reason, now)
            self._lead_store(row, lead, row.org_path, now)
            await self._lead_event(session, "closed", row, principal, now)
            return row

    async def convert_lead(
        self, principal: Principal, lead_id: str, opportunity_name: str, amount: Money | None, expected_close_date: date
    ) -> tuple[Lead, Opportunity]:
        """Customer through the customers service (its duplicate check applies), then here, in one
        transaction, the opportunity and the converted lead. Everything local is validated before
        the customer is created, so bad input leaves nothing behind in either service."""
        principal.require(OPP_CREATE)
        now = self.clock()
        async with self.sessions() as session:
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            plan = lead_rules.convert(self._lead_domain(row), now, opportunity_name=opportunity_name or None)
            seen_version, owner, org_path = row.version, row.owner_id, row.org_path
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
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            if row.version != seen_version:
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
            self._lead_store(row, plan.lead, org_path, now)
            await self._emit(
                session,
                "lead.converted",
                PipelineLeadState(
                    lead_id=row.id,
                    company_name=row.company_name,
                    status=row.status,
                    owner_id=row.owner_id,
                    org_path=row.org_path,
                    region=row.region,
                    industry=row.industry,
                    customer_id=customer.customer_id,
                    opportunity_id=opportunity.opportunity_id,
                ),
                row.id,
                row.org_path,
                principal,
                now,
            )
            return row, opportunity

    async def record_lead_follow_up(self, session: AsyncSession, lead_id: str, owner_id: str, at: datetime) -> bool:
        """A follow-up logged by the lead's owner restarts its reclaim window; follow-ups of
        anyone else, or of a lead no longer assigned, change nothing."""
        row = await session.get(Lead, lead_id)
        if row is None or row.status != "assigned" or row.owner_id != owner_id:
            return False
        lead = lead_rules.record_follow_up(self._lead_domain(row), at)
        if lead.last_followed_up_at == row.last_followed_up_at:
            return False  # an older, out-of-order event
        row.last_followed_up_at = lead.last_followed_up_at
        row.version += 1
        return True
