"""Pipeline use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction.

Customers are checked (and, on lead conversion, created) through the customers service over
gRPC, outside the local transaction. Not yet done: stage models are the default one only."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import (PipelineGateViolated, PipelineLeadState,
                                                     PipelineOpportunityState, PipelineSlaNotice)
from salesgrid_common.auth import Principal, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import keyset_page
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain import forecast as fc
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain import sla
from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.facts import FactValue
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import OpportunityInput, validate_opportunity
from salesgrid_pipeline.domain.stage_model import StageModel, default_stage_model
from salesgrid_pipeline.domain.stages import (GateRejected, OpportunityState, StageTransition, advance,
                                              gate_violation, lose, regress, win)
from salesgrid_pipeline.customers_client import CustomersClient
from salesgrid_pipeline.fact_store import decode_facts, encode_facts
from salesgrid_pipeline.models import GateViolation, Lead, Opportunity, StageHistory

OPP_READ, OPP_CREATE, OPP_UPDATE = "opportunities:read", "opportunities:create", "opportunities:update"
LEAD_READ, LEAD_CREATE, LEAD_UPDATE, LEAD_ASSIGN = "leads:read", "leads:create", "leads:update", "leads:assign"
Decide = Callable[[OpportunityState, datetime], StageTransition]


def _ancestor_paths(org_path: str) -> list[str]:
    """"/c/r1/b1/" → ["/c/", "/c/r1/", "/c/r1/b1/"]: the units whose lead pools a member sees."""
    parts = [p for p in org_path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _status_of(model: StageModel, stage_code: str) -> str:
    outcome = model.stage(stage_code).outcome
    return outcome.value if outcome else "open"


class PipelineUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock, customers: CustomersClient,
                 model: StageModel | None = None, reclaim_after_days: int = lead_rules.RECLAIM_AFTER_DAYS) -> None:
        self.sessions = sessions
        self.customers = customers
        self.outbox = outbox
        self.clock = clock
        self.model = model or default_stage_model()
        self.reclaim_after_days = reclaim_after_days

    # --- helpers ----------------------------------------------------------------------------

    async def _emit(self, session: AsyncSession, event_type: str, payload, aggregate_id: str,  # type: ignore[no-untyped-def]
                    org_path: str, principal: Principal | None, now: datetime) -> None:
        meta = EventMeta(aggregate_id=aggregate_id, actor_id=principal.subject_id if principal else "",
                         org_path=org_path, actor_ip=principal.client_ip if principal else "")
        await self.outbox.record(session, f"salesgrid.pipeline.{event_type}", payload, meta, now)

    async def _user_in_scope(self, session: AsyncSession, principal: Principal, permission: str, user_id: str,
                             field: str) -> tuple[str, str]:
        """(user id, org path) of a user the caller may act for; the caller himself needs no lookup."""
        if not user_id or user_id == principal.subject_id:
            return principal.subject_id, principal.org_path
        user = await get_user(session, user_id)
        if user is None or not user.active:
            raise ValidationFailed("is not a known active user", field)
        if not principal.can_see(permission, user.user_id, user.org_path):
            raise PermissionDenied(f"{field} is outside your scope")
        return user.user_id, user.org_path

    @staticmethod
    def _check_version(version: int, expected: int) -> None:
        if expected and version != expected:
            raise Conflict(f"the record changed (version {version}, you sent {expected}); reload and retry",
                           "expected_version")

    def _opportunity_event(self, row: Opportunity, transition: StageTransition | None = None) -> PipelineOpportunityState:
        return PipelineOpportunityState(
            opportunity_id=row.id, customer_id=row.customer_id, name=row.name, owner_id=row.owner_id,
            org_path=row.org_path, amount=row.amount, currency=row.currency,
            expected_close_date=row.expected_close_date.isoformat(), stage=row.stage, status=row.status,
            probability=self.model.stage(row.stage).probability,
            from_stage=transition.from_stage if transition else "",
            transition=transition.kind.value if transition else "", reason=transition.reason or "" if transition else "")

    # --- opportunities ------------------------------------------------------------------------

    async def create_opportunity(self, principal: Principal, data: OpportunityInput, owner_id: str) -> Opportunity:
        principal.require(OPP_CREATE)
        now = self.clock()
        validate_opportunity(data, (), now)  # bad input is refused before any remote call
        await self.customers.visible_customer(principal, data.customer_id.strip())
        async with self.sessions() as session, session.begin():
            owner, org_path = await self._user_in_scope(session, principal, OPP_CREATE, owner_id, "owner_id")
            return await self._insert_opportunity(session, principal, data, owner, org_path, now)

    async def _insert_opportunity(self, session: AsyncSession, principal: Principal, data: OpportunityInput,
                                  owner: str, org_path: str, now: datetime) -> Opportunity:
        customer_id = data.customer_id.strip()
        names = (await session.scalars(select(Opportunity.name).where(Opportunity.customer_id == customer_id))).all()
        valid = validate_opportunity(data, names, now)
        row = Opportunity(
            id=new_id(), customer_id=valid.customer_id, name=valid.name, name_key=normalise_key(valid.name),
            owner_id=owner, org_path=org_path, amount=str(valid.amount.amount), currency=valid.amount.currency,
            expected_close_date=valid.expected_close_date,
            competitors=[{"name": c.name, "strengths": c.strengths,
                          "price": {"amount": str(c.price.amount), "currency": c.price.currency} if c.price else None}
                         for c in valid.competitors],
            products=[{"product_id": p.product_id, "quantity": str(p.quantity)} for p in valid.products],
            stage_model=self.model.code, stage=self.model.entry_stage_code, stage_entered_at=now, status="open",
            lost_reason="", facts={}, sla_level_notified=0, version=1, created_at=now, updated_at=now)
        session.add(row)
        try:
            await session.flush()
        except IntegrityError:  # a concurrent create of the same name won the race
            raise Conflict(f"the customer already has an opportunity named {valid.name!r}", "name") from None
        await self._emit(session, "opportunity.created", self._opportunity_event(row), row.id, org_path, principal, now)
        return row

    async def _visible_opportunity(self, session: AsyncSession, principal: Principal, opportunity_id: str,
                                   permission: str) -> Opportunity:
        principal.require(permission)
        row = await session.get(Opportunity, opportunity_id)
        if row is None:
            raise NotFound(f"opportunity {opportunity_id!r} does not exist", "id")
        if not principal.can_see(permission, row.owner_id, row.org_path):
            raise PermissionDenied("this opportunity is outside your scope")
        return row

    async def get_opportunity(self, principal: Principal, opportunity_id: str) -> Opportunity:
        async with self.sessions() as session:
            return await self._visible_opportunity(session, principal, opportunity_id, OPP_READ)

    async def list_opportunities(self, principal: Principal, *, owner_id: str, customer_id: str, status: str,
                                 stage: str, page_size: int, after: str) -> tuple[list[Opportunity], str]:
        principal.require(OPP_READ)
        stmt = select(Opportunity).where(scope_filter(principal, OPP_READ, Opportunity.owner_id, Opportunity.org_path))
        for column, value in ((Opportunity.owner_id, owner_id), (Opportunity.customer_id, customer_id),
                              (Opportunity.status, status), (Opportunity.stage, stage)):
            if value:
                stmt = stmt.where(column == value)
        async with self.sessions() as session:
            found = await keyset_page(session, stmt, Opportunity.id, page_size, after, newest_first=False)
        return found.items, found.next_token

    def facts_of(self, row: Opportunity) -> dict[str, FactValue]:
        return decode_facts(row.facts, self.model)

    async def _move(self, principal: Principal, opportunity_id: str, expected_version: int, decide: Decide) -> Opportunity:
        """Apply one stage transition; a rejected advance is recorded as a gate violation and then raised."""
        now = self.clock()
        rejected: GateRejected | None = None
        async with self.sessions() as session:
            async with session.begin():
                row = await self._visible_opportunity(session, principal, opportunity_id, OPP_UPDATE)
                self._check_version(row.version, expected_version)
                before = self.facts_of(row)
                try:
                    transition = decide(OpportunityState(row.id, row.stage, row.stage_entered_at, before), now)
                except GateRejected as rejection:
                    await self._record_violation(session, principal, row, rejection, now)
                    rejected = rejection  # raised after the violation is committed
                else:
                    await self._apply(session, principal, row, transition, before, now)
            if rejected is not None:
                raise rejected
            return row

    async def _apply(self, session: AsyncSession, principal: Principal, row: Opportunity, transition: StageTransition,
                     before: Mapping[str, FactValue], now: datetime) -> None:
        supplied = {code: value for code, value in transition.facts.items() if before.get(code) != value}
        row.stage = transition.to_stage
        row.stage_entered_at = transition.at
        row.status = _status_of(self.model, transition.to_stage)
        row.facts = encode_facts(transition.facts)
        row.lost_reason = transition.reason or "" if row.status == "lost" else ""
        row.sla_level_notified = int(sla.SlaLevel.ON_TIME)  # a new stage entry starts its SLA afresh
        row.version += 1
        row.updated_at = now
        session.add(StageHistory(id=new_id(), opportunity_id=row.id, kind=transition.kind.value,
                                 from_stage=transition.from_stage, to_stage=transition.to_stage, at=transition.at,
                                 by=transition.by, facts=encode_facts(supplied), reason=transition.reason or "",
                                 skipped_stages=list(transition.skipped_stages)))
        verb = row.status if row.status in ("won", "lost") else "stage_changed"
        await self._emit(session, f"opportunity.{verb}", self._opportunity_event(row, transition), row.id,
                         row.org_path, principal, now)

    async def _record_violation(self, session: AsyncSession, principal: Principal, row: Opportunity,
                                rejection: GateRejected, now: datetime) -> None:
        record = gate_violation(rejection)
        violation = GateViolation(
            id=new_id(), opportunity_id=row.id, actor_id=record.actor, owner_id=row.owner_id, org_path=row.org_path,
            at=record.at, from_stage=record.from_stage, target_stage=record.target_stage,
            missing_facts=list(record.missing_facts), invalid_facts=[list(pair) for pair in record.invalid_facts],
            unskippable_stages=list(record.unskippable_stages))
        session.add(violation)
        await self._emit(session, "gate.violated", PipelineGateViolated(
            violation_id=violation.id, opportunity_id=row.id, actor_id=record.actor, owner_id=row.owner_id,
            from_stage=record.from_stage, target_stage=record.target_stage, missing_facts=record.missing_facts,
            invalid_facts=[f"{code}: {message}" for code, message in record.invalid_facts],
            unskippable_stages=record.unskippable_stages), row.id, row.org_path, principal, now)

    def _next_stage(self, stage_code: str) -> str:
        index = self.model.index(stage_code) + 1
        if index >= len(self.model.stages) or self.model.stages[index].is_terminal:
            return self.model.won_stage.code
        return self.model.stages[index].code

    async def advance_opportunity(self, principal: Principal, opportunity_id: str, target_stage: str,
                                  facts: Mapping[str, FactValue], expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version, lambda state, now: advance(
            state, target_stage or self._next_stage(state.stage_code), facts, self.model, actor, now))

    async def regress_opportunity(self, principal: Principal, opportunity_id: str, target_stage: str, reason: str,
                                  expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, now: regress(state, target_stage, reason, self.model, actor, now))

    async def win_opportunity(self, principal: Principal, opportunity_id: str, facts: Mapping[str, FactValue],
                              expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, now: win(state, facts, self.model, actor, now))

    async def lose_opportunity(self, principal: Principal, opportunity_id: str, reason: str,
                               expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, now: lose(state, reason, self.model, actor, now))

    async def stage_history(self, principal: Principal, opportunity_id: str) -> list[StageHistory]:
        async with self.sessions() as session:
            await self._visible_opportunity(session, principal, opportunity_id, OPP_READ)
            stmt = select(StageHistory).where(StageHistory.opportunity_id == opportunity_id).order_by(StageHistory.id)
            return list((await session.scalars(stmt)).all())

    async def list_gate_violations(self, principal: Principal, *, actor_id: str, opportunity_id: str, page_size: int,
                                   after: str) -> tuple[list[GateViolation], str]:
        principal.require(OPP_READ)
        stmt = select(GateViolation).where(
            scope_filter(principal, OPP_READ, GateViolation.owner_id, GateViolation.org_path))
        if actor_id:
            stmt = stmt.where(GateViolation.actor_id == actor_id)
        if opportunity_id:
            stmt = stmt.where(GateViolation.opportunity_id == opportunity_id)
        async with self.sessions() as session:
            found = await keyset_page(session, stmt, GateViolation.id, page_size, after, newest_first=False)
        return found.items, found.next_token

    # --- forecast ---------------------------------------------------------------------------

    async def forecast(self, principal: Principal, group_by: str, subtree: str) -> list[fc.ForecastBucket]:
        principal.require(OPP_READ)
        if group_by not in ("", "owner", "team", "subtree"):
            raise ValidationFailed("must be owner, team or subtree", "group_by")
        stmt = select(Opportunity).where(scope_filter(principal, OPP_READ, Opportunity.owner_id, Opportunity.org_path),
                                         Opportunity.status != "lost")
        async with self.sessions() as session:
            rows = [fc.OpportunityRow(
                opportunity_id=r.id, owner_id=r.owner_id, team_id=r.org_path, org_path=r.org_path.strip("/"),
                close_date=r.expected_close_date, amount=Money(Decimal(r.amount), r.currency),
                probability=self.model.stage(r.stage).probability, status=fc.RowStatus(r.status))
                for r in (await session.scalars(stmt)).all()]
        if group_by == "subtree":
            return fc.forecast_subtree(rows, (subtree or principal.org_path).strip("/"))
        return fc.forecast(rows, fc.GroupBy.TEAM if group_by == "team" else fc.GroupBy.OWNER)

    # --- leads ------------------------------------------------------------------------------

    @staticmethod
    def _lead_domain(row: Lead) -> lead_rules.Lead:
        amount = Money(Decimal(row.estimated_amount), row.estimated_currency or "") if row.estimated_amount else None
        return lead_rules.Lead(
            lead_id=row.id, company_name=row.company_name, created_at=row.created_at,
            status=lead_rules.LeadStatus(row.status), contact_name=row.contact_name, phone=row.phone, email=row.email,
            region=row.region, industry=row.industry, source=row.source, estimated_amount=amount,
            owner_id=row.owner_id or None, assigned_at=row.assigned_at, last_followed_up_at=row.last_followed_up_at,
            closed_reason=row.closed_reason or None, closed_at=row.closed_at)

    @staticmethod
    def _lead_store(row: Lead, lead: lead_rules.Lead, org_path: str, now: datetime) -> None:
        row.status = lead.status.value
        row.owner_id = lead.owner_id or ""
        row.org_path = org_path
        row.assigned_at = lead.assigned_at
        row.last_followed_up_at = lead.last_followed_up_at
        row.closed_reason = lead.closed_reason or ""
        row.closed_at = lead.closed_at
        row.version += 1

    async def _lead_event(self, session: AsyncSession, verb: str, row: Lead, principal: Principal | None,
                          now: datetime, previous_owner: str = "") -> None:
        await self._emit(session, f"lead.{verb}", PipelineLeadState(
            lead_id=row.id, company_name=row.company_name, status=row.status, owner_id=row.owner_id,
            previous_owner_id=previous_owner, org_path=row.org_path, region=row.region, industry=row.industry,
            closed_reason=row.closed_reason), row.id, row.org_path, principal, now)

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

    async def create_lead(self, principal: Principal, fields: Mapping[str, str], estimated_amount: Money | None,
                          assign_to: str) -> Lead:
        principal.require(LEAD_CREATE)
        now = self.clock()
        lead = lead_rules.new_lead(new_id(), fields.get("company_name", ""), now, estimated_amount=estimated_amount,
                                   **{k: fields.get(k, "") for k in ("contact_name", "phone", "email", "region",
                                                                     "industry", "source")})
        async with self.sessions() as session, session.begin():
            org_path = principal.org_path
            if assign_to:
                principal.require(LEAD_ASSIGN)
                rep, org_path = await self._user_in_scope(session, principal, LEAD_ASSIGN, assign_to, "assign_to")
                lead = lead_rules.assign(lead, rep, now)
            row = Lead(id=lead.lead_id, company_name=lead.company_name, contact_name=lead.contact_name,
                       phone=lead.phone, email=lead.email, region=lead.region, industry=lead.industry,
                       source=lead.source, estimated_amount=str(estimated_amount.amount) if estimated_amount else None,
                       estimated_currency=estimated_amount.currency if estimated_amount else None,
                       created_at=now, created_by=principal.subject_id, version=0, status="pool", org_path=org_path)
            self._lead_store(row, lead, org_path, now)
            session.add(row)
            await self._lead_event(session, "created", row, principal, now)
            if assign_to:
                await self._lead_event(session, "assigned", row, principal, now)
            return row

    async def get_lead(self, principal: Principal, lead_id: str) -> Lead:
        async with self.sessions() as session:
            return await self._visible_lead(session, principal, lead_id, LEAD_READ)

    async def list_leads(self, principal: Principal, *, status: str, owner_id: str, page_size: int,
                         after: str) -> tuple[list[Lead], str]:
        principal.require(LEAD_READ)
        visible = or_(scope_filter(principal, LEAD_READ, Lead.owner_id, Lead.org_path),
                      and_(Lead.status == "pool", Lead.org_path.in_(_ancestor_paths(principal.org_path))))
        stmt = select(Lead).where(visible)
        if status:
            stmt = stmt.where(Lead.status == status)
        if owner_id:
            stmt = stmt.where(Lead.owner_id == owner_id)
        async with self.sessions() as session:
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

    async def convert_lead(self, principal: Principal, lead_id: str, opportunity_name: str, amount: Money | None,
                           expected_close_date: date) -> tuple[Lead, Opportunity]:
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
        data = OpportunityInput(customer_id="(new)", name=plan.opportunity.name, amount=amount,
                                expected_close_date=expected_close_date)
        validate_opportunity(data, (), now)
        assert plan.customer is not None  # converting always creates the customer
        customer = await self.customers.create_customer(principal, plan.customer, "company_name")
        async with self.sessions() as session, session.begin():
            row = await self._visible_lead(session, principal, lead_id, LEAD_UPDATE)
            if row.version != seen_version:
                raise Conflict(f"the lead changed while converting; customer {customer.customer_id} was created, "
                               "create the opportunity on it", "id")
            opportunity = await self._insert_opportunity(
                session, principal, replace(data, customer_id=customer.customer_id), owner, org_path, now)
            self._lead_store(row, plan.lead, org_path, now)
            await self._emit(session, "lead.converted", PipelineLeadState(
                lead_id=row.id, company_name=row.company_name, status=row.status, owner_id=row.owner_id,
                org_path=row.org_path, region=row.region, industry=row.industry, customer_id=customer.customer_id,
                opportunity_id=opportunity.id), row.id, row.org_path, principal, now)
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

    # --- SLA engine ---------------------------------------------------------------------------

    async def sla_scan(self) -> int:
        """One pass of the SLA engine: stage reminders / escalations and lead reclaim. Returns
        the number of events written. Idempotent: the level already notified is stored."""
        now = self.clock()
        written = 0
        async with self.sessions() as session, session.begin():
            for row in (await session.scalars(select(Opportunity).where(Opportunity.status == "open"))).all():
                owner = await get_user(session, row.owner_id)
                manager = await get_user(session, owner.manager_id) if owner and owner.manager_id else None
                check = sla.due_notifications(
                    subject_id=row.id, stage_code=row.stage, entered_at=row.stage_entered_at,
                    sla_days=self.model.stage(row.stage).sla_days, now=now, owner_id=row.owner_id,
                    manager_id=owner.manager_id if owner else None,
                    escalation_ids=(manager.manager_id,) if manager and manager.manager_id else (),
                    last_level_notified=sla.SlaLevel(row.sla_level_notified))
                for notice in check.notifications:
                    level = "overdue" if notice.level is sla.SlaLevel.OVERDUE else "escalated"
                    payload = PipelineSlaNotice(opportunity_id=row.id, stage=row.stage, level=level,
                                                recipient_ids=notice.recipient_ids, owner_id=row.owner_id,
                                                due_at=to_timestamp(notice.due_at))
                    await self._emit(session, f"sla.{level}", payload, row.id, row.org_path, None, now)
                    written += 1
                row.sla_level_notified = int(check.level_notified)
            assigned = (await session.scalars(select(Lead).where(Lead.status == "assigned"))).all()
            for row in assigned:
                lead = self._lead_domain(row)
                if lead_rules.is_reclaim_due(lead, now, self.reclaim_after_days):
                    previous = row.owner_id
                    self._lead_store(row, lead_rules.reclaim(lead, now, self.reclaim_after_days), row.org_path, now)
                    await self._lead_event(session, "reclaimed", row, None, now, previous)
                    written += 1
        return written

    def stage_model(self, principal: Principal, code: str) -> StageModel:
        principal.require("stage_models:read")
        if code and code != self.model.code:
            raise NotFound(f"stage model {code!r} does not exist", "code")
        return self.model

