"""Pipeline use cases: each runs in one transaction, checks the caller's permission and data
scope, applies the domain rules and writes its events to the outbox in that same transaction.

Customers are checked (and, on lead conversion, created) through the customers service over
gRPC, outside the local transaction; quote lines are priced from the contracts service's
catalogue the same way. Stage models are administered per business line; an opportunity
follows the model whose code it carries (the built-in default until an admin replaces it)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import (PipelineGateViolated, PipelineLeadState,
                                                     PipelineOpportunityState, PipelineQuoteState,
                                                     PipelineSlaNotice)
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.auth import Principal, Scope, scope_filter
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import DirectoryUser, directory_units, directory_users, get_user
from salesgrid_common.errors import Conflict, DomainError, FailedPrecondition, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_common.paging import keyset_page
from salesgrid_common.protos import to_timestamp
from salesgrid_pipeline.domain import forecast as fc
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain import quotes as quote_rules
from salesgrid_pipeline.domain import sla
from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.facts import FactValue
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import OpportunityInput, validate_opportunity
from salesgrid_common.customer_merges import survivor_of
from salesgrid_pipeline.domain.stage_model import StageModel, default_stage_model, validate_stage_model
from salesgrid_pipeline.stage_model_events import DEFAULT_VERSION, Emit, publish_if_changed, publish_models_in_force
from salesgrid_pipeline.domain.stages import (GateRejected, OpportunityState, StageTransition, advance,
                                              gate_violation, lose, regress, win)
from salesgrid_pipeline.catalogue_client import CatalogueClient, ContractDraftRequest, ContractLineDraft
from salesgrid_pipeline.customers_client import CustomersClient
from salesgrid_pipeline.fact_store import decode_facts, encode_facts
from salesgrid_pipeline.model_store import decode_model, encode_model
from salesgrid_pipeline.models import (GateViolation, Lead, LeadAssignmentRule, Opportunity, Quote, RoundRobinState,
                                      StageHistory, StageModelRow)

OPP_READ, OPP_CREATE, OPP_UPDATE = "opportunities:read", "opportunities:create", "opportunities:update"
LEAD_READ, LEAD_CREATE, LEAD_UPDATE, LEAD_ASSIGN = "leads:read", "leads:create", "leads:update", "leads:assign"
QUOTE_READ, QUOTE_CREATE, QUOTE_UPDATE = "quotes:read", "quotes:create", "quotes:update"  # on the opportunity's scope
Decide = Callable[[OpportunityState, StageModel, datetime], StageTransition]


@dataclass(frozen=True)
class QuoteLineRequest:
    """A quote line as asked for: the catalogue supplies its name and unit price."""

    product_id: str
    quantity: Decimal
    discount: quote_rules.Discount | None = None


MAX_IMPORT_ROWS = 5000
SYSTEM_ACTOR = system_actor("pipeline")  # the actor of the SLA engine and lead reclaim


@dataclass(frozen=True)
class ContractBlock:
    """The contract draft asked for when accepting a quote."""

    branch_code: str
    start_date: str
    end_date: str
    terms: str = ""


@dataclass(frozen=True)
class ImportRow:
    """One CSV row of a lead import, as text."""

    fields: Mapping[str, str]  # company_name, contact_name, phone, email, region, industry, source
    estimated_amount: str = ""
    currency: str = ""
    assign_to: str = ""


@dataclass(frozen=True)
class ImportError:
    row: int
    column: str
    message: str


def _import_column(field: str) -> str:
    """A violation's field → the CSV column it came from."""
    if field == "estimated_amount.currency":
        return "currency"
    if field.startswith("estimated_amount"):
        return "estimated_amount"
    return field


def _ancestor_paths(org_path: str) -> list[str]:
    """"/c/r1/b1/" → ["/c/", "/c/r1/", "/c/r1/b1/"]: the units whose lead pools a member sees."""
    parts = [p for p in org_path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def _status_of(model: StageModel, stage_code: str) -> str:
    outcome = model.stage(stage_code).outcome
    return outcome.value if outcome else "open"


class PipelineUseCases:
    def __init__(self, sessions: SessionFactory, outbox: Outbox, clock: Clock, customers: CustomersClient,
                 catalogue: CatalogueClient, model: StageModel | None = None,
                 reclaim_after_days: int = lead_rules.RECLAIM_AFTER_DAYS) -> None:
        self.sessions = sessions
        self.customers = customers
        self.catalogue = catalogue
        self.outbox = outbox
        self.clock = clock
        self.model = model or default_stage_model()
        # every administered model as last read; each use case re-reads the table first, so
        # replicas agree, and the sync helpers (facts, probabilities) use this snapshot
        self._models: dict[str, StageModel] = {self.model.code: self.model}
        self._versions: dict[str, int] = {self.model.code: DEFAULT_VERSION}
        self.reclaim_after_days = reclaim_after_days

    # --- helpers ----------------------------------------------------------------------------

    async def _emit(self, session: AsyncSession, event_type: str, payload, aggregate_id: str,  # type: ignore[no-untyped-def]
                    org_path: str, principal: Principal | None, now: datetime) -> None:
        meta = EventMeta(aggregate_id=aggregate_id, actor_id=principal.subject_id if principal else SYSTEM_ACTOR,
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
            raise PermissionDenied(f"{field} is outside your scope", field)
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
            probability=self.model_of(row.stage_model).stage(row.stage).probability,
            from_stage=transition.from_stage if transition else "",
            transition=transition.kind.value if transition else "", reason=transition.reason or "" if transition else "",
            commit=row.commit, stage_model=row.stage_model,
            stage_model_version=self._versions.get(row.stage_model, DEFAULT_VERSION))

    # --- opportunities ------------------------------------------------------------------------

    async def create_opportunity(self, principal: Principal, data: OpportunityInput, owner_id: str,
                                 stage_model: str = "") -> Opportunity:
        principal.require(OPP_CREATE)
        now = self.clock()
        # bad input is refused before any remote call (the owner's calendar is checked again below)
        validate_opportunity(data, (), now, today=localtime.earliest_local_date(now))
        async with self.sessions() as session:
            self._model_for_new(await self._load_models(session), stage_model)
            # a merged customer's id stands for its survivor
            data = replace(data, customer_id=await survivor_of(session, data.customer_id.strip(), writing=False))
        await self.customers.visible_customer(principal, data.customer_id)
        async with self.sessions() as session, session.begin():
            if await survivor_of(session, data.customer_id) != data.customer_id:  # holds off a merge until commit
                raise Conflict("the customer was merged into another one meanwhile; retry", "customer_id")
            owner, org_path = await self._user_in_scope(session, principal, OPP_CREATE, owner_id, "owner_id")
            return await self._insert_opportunity(session, principal, data, owner, org_path, now, stage_model)

    # --- stage models -----------------------------------------------------------------------

    async def _load_models(self, session: AsyncSession) -> dict[str, StageModel]:
        models = {self.model.code: self.model}
        versions = {self.model.code: DEFAULT_VERSION}
        for row in (await session.scalars(select(StageModelRow))).all():
            models[row.code], versions[row.code] = decode_model(row.definition), row.version
        self._models, self._versions = models, versions
        return models

    def model_of(self, code: str) -> StageModel:
        return self._models.get(code, self.model)

    def _model_for_new(self, models: Mapping[str, StageModel], code: str) -> StageModel:
        model = models.get(code.strip() or self.model.code)
        if model is None:
            raise ValidationFailed(f"stage model {code!r} does not exist", "stage_model")
        return model

    async def list_stage_models(self, principal: Principal) -> list[StageModel]:
        principal.require("stage_models:read")
        async with self.sessions() as session:
            return sorted((await self._load_models(session)).values(), key=lambda m: m.code)

    async def get_stage_model(self, principal: Principal, code: str) -> StageModel:
        principal.require("stage_models:read")
        async with self.sessions() as session:
            model = (await self._load_models(session)).get(code or self.model.code)
        if model is None:
            raise NotFound(f"stage model {code!r} does not exist", "code")
        return model

    async def put_stage_model(self, principal: Principal, model: StageModel) -> StageModel:
        """Create or replace a business line's model. Open opportunities following it must still
        find their current stage in the new version."""
        principal.require("stage_models:update")
        model = validate_stage_model(model)
        now = self.clock()
        async with self.sessions() as session, session.begin():
            codes = {s.code for s in model.open_stages}
            stranded = sorted(set((await session.scalars(select(Opportunity.stage).where(
                Opportunity.stage_model == model.code, Opportunity.status == "open"))).all()) - codes)
            if stranded:
                raise FailedPrecondition(f"open opportunities are in stages the new version lacks: {', '.join(stranded)}",
                                         "stages")
            row = await session.get(StageModelRow, model.code)
            if row is None:
                session.add(StageModelRow(code=model.code, definition=encode_model(model), version=1, updated_at=now,
                                          updated_by=principal.subject_id))
            else:
                row.definition, row.version = encode_model(model), row.version + 1
                row.updated_at, row.updated_by = now, principal.subject_id
            self._models[model.code] = model
            self._versions[model.code] = row.version if row is not None else 1
            await publish_if_changed(session, self._emitter(principal), model, self._versions[model.code], now)
            return model

    def _emitter(self, principal: Principal | None) -> Emit:
        """Outbox writer for stage-model events: the administrator's change, or the periodic check
        (the service's system actor)."""
        async def emit(session: AsyncSession, event_type: str, payload, aggregate_id: str,  # type: ignore[no-untyped-def]
                       now: datetime) -> None:
            await self._emit(session, event_type, payload, aggregate_id, "/", principal, now)
        return emit

    async def publish_stage_models(self) -> int:
        """Publish each model in force whose definition was not published yet (periodic)."""
        return await publish_models_in_force(self.sessions, self.clock, self._emitter(None), self.model, decode_model)

    async def _insert_opportunity(self, session: AsyncSession, principal: Principal, data: OpportunityInput,
                                  owner: str, org_path: str, now: datetime, stage_model: str = "") -> Opportunity:
        model = self._model_for_new(await self._load_models(session), stage_model)
        customer_id = data.customer_id.strip()
        names = (await session.scalars(select(Opportunity.name).where(Opportunity.customer_id == customer_id))).all()
        today = (await localtime.user_calendar(session, owner)).today(now)
        valid = validate_opportunity(data, names, now, today=today)
        row = Opportunity(
            id=new_id(), customer_id=valid.customer_id, name=valid.name, name_key=normalise_key(valid.name),
            owner_id=owner, org_path=org_path, amount=str(valid.amount.amount), currency=valid.amount.currency,
            expected_close_date=valid.expected_close_date,
            competitors=[{"name": c.name, "strengths": c.strengths,
                          "price": {"amount": str(c.price.amount), "currency": c.price.currency} if c.price else None}
                         for c in valid.competitors],
            products=[{"product_id": p.product_id, "quantity": str(p.quantity)} for p in valid.products],
            stage_model=model.code, stage=model.entry_stage_code, stage_entered_at=now, status="open",
            lost_reason="", facts={}, sla_level_notified=0, commit=False, version=1, created_at=now, updated_at=now)
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
        await self._load_models(session)
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
        async with self.sessions() as session:
            customer_id = await survivor_of(session, customer_id, writing=False)  # a merged id lists the survivor's
            for column, value in ((Opportunity.owner_id, owner_id), (Opportunity.customer_id, customer_id),
                                  (Opportunity.status, status), (Opportunity.stage, stage)):
                if value:
                    stmt = stmt.where(column == value)
            await self._load_models(session)
            found = await keyset_page(session, stmt, Opportunity.id, page_size, after, newest_first=False)
        return found.items, found.next_token

    def facts_of(self, row: Opportunity) -> dict[str, FactValue]:
        return decode_facts(row.facts, self.model_of(row.stage_model))

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
                    transition = decide(OpportunityState(row.id, row.stage, row.stage_entered_at, before),
                                        self.model_of(row.stage_model), now)
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
        row.status = _status_of(self.model_of(row.stage_model), transition.to_stage)
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

    @staticmethod
    def _next_stage(model: StageModel, stage_code: str) -> str:
        index = model.index(stage_code) + 1
        if index >= len(model.stages) or model.stages[index].is_terminal:
            return model.won_stage.code
        return model.stages[index].code

    async def advance_opportunity(self, principal: Principal, opportunity_id: str, target_stage: str,
                                  facts: Mapping[str, FactValue], expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version, lambda state, model, now: advance(
            state, target_stage or self._next_stage(model, state.stage_code), facts, model, actor, now))

    async def regress_opportunity(self, principal: Principal, opportunity_id: str, target_stage: str, reason: str,
                                  expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, model, now: regress(state, target_stage, reason, model, actor, now))

    async def win_opportunity(self, principal: Principal, opportunity_id: str, facts: Mapping[str, FactValue],
                              expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, model, now: win(state, facts, model, actor, now))

    async def lose_opportunity(self, principal: Principal, opportunity_id: str, reason: str,
                               expected_version: int) -> Opportunity:
        actor = principal.subject_id
        return await self._move(principal, opportunity_id, expected_version,
                                lambda state, model, now: lose(state, reason, model, actor, now))

    async def stage_history(self, principal: Principal, opportunity_id: str) -> tuple[StageModel, list[StageHistory]]:
        """The opportunity's moves, with the model that reads their facts."""
        async with self.sessions() as session:
            row = await self._visible_opportunity(session, principal, opportunity_id, OPP_READ)
            stmt = select(StageHistory).where(StageHistory.opportunity_id == opportunity_id).order_by(StageHistory.id)
            return self.model_of(row.stage_model), list((await session.scalars(stmt)).all())

    async def update_opportunity(self, principal: Principal, opportunity_id: str, *, amount: Money | None,
                                 expected_close_date: date | None, commit: bool | None,
                                 expected_version: int) -> Opportunity:
        """Amount, expected close date and the forecast commit flag of an open opportunity;
        the caller must send the version he read (If-Match)."""
        if not expected_version:
            raise ValidationFailed("is required (send If-Match with the version you read)", "expected_version")
        if amount is None and expected_close_date is None and commit is None:
            raise ValidationFailed("give at least one of amount, expected_close_date and commit", "amount")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await self._visible_opportunity(session, principal, opportunity_id, OPP_UPDATE)
            self._check_version(row.version, expected_version)
            if row.status != "open":
                raise FailedPrecondition(f"the opportunity is closed ({row.status}); it cannot be changed", "status")
            current = OpportunityInput(customer_id=row.customer_id, name=row.name,
                                       amount=Money(Decimal(row.amount), row.currency),
                                       expected_close_date=row.expected_close_date)
            valid = validate_opportunity(replace(current, amount=amount or current.amount,
                                                 expected_close_date=expected_close_date or current.expected_close_date),
                                         (), now, today=(await localtime.user_calendar(session, row.owner_id)).today(now))
            row.amount, row.currency = str(valid.amount.amount), valid.amount.currency
            row.expected_close_date = valid.expected_close_date
            if commit is not None:
                row.commit = commit
            row.version += 1
            row.updated_at = now
            await self._emit(session, "opportunity.updated", self._opportunity_event(row), row.id, row.org_path,
                             principal, now)
            return row

    # --- quotes -----------------------------------------------------------------------------

    @staticmethod
    def _quote_lines(row: Quote) -> list[quote_rules.QuoteLine]:
        return [quote_rules.QuoteLine(
            line["product_id"], line["name"], Decimal(line["unit_price"]), Decimal(line["quantity"]),
            quote_rules.Discount(quote_rules.DiscountKind(line["discount_kind"]), Decimal(line["discount_value"]))
            if line.get("discount_kind") else None) for line in row.lines]

    def _quote_domain(self, row: Quote) -> quote_rules.Quote:
        lines = self._quote_lines(row)
        return quote_rules.Quote(
            quote_id=row.id, opportunity_id=row.opportunity_id, version=row.version, currency=row.currency,
            lines=tuple(lines), pricing=quote_rules.price_quote(lines, row.currency),
            status=quote_rules.QuoteStatus(row.status), created_at=row.created_at, created_by=row.created_by)

    async def _quote_versions(self, session: AsyncSession, opportunity_id: str) -> list[Quote]:
        return list((await session.scalars(select(Quote).where(Quote.opportunity_id == opportunity_id)
                                           .order_by(Quote.version))).all())

    async def _quote_event(self, session: AsyncSession, verb: str, row: Quote, opportunity: Opportunity,
                           principal: Principal, now: datetime, superseded_id: str = "") -> None:
        await self._emit(session, f"quote.{verb}", PipelineQuoteState(
            quote_id=row.id, opportunity_id=row.opportunity_id, version=row.version, currency=row.currency,
            total=row.total, status=row.status, owner_id=row.owner_id, superseded_quote_id=superseded_id,
            product_ids=[line["product_id"] for line in row.lines], customer_id=opportunity.customer_id,
            contract_id=row.contract_id or ""),
            row.id, row.org_path, principal, now)

    async def create_quote(self, principal: Principal, opportunity_id: str, currency: str,
                           lines: Sequence[QuoteLineRequest]) -> Quote:
        """A new version of the opportunity's quote (the first one, or one superseding the
        current version), priced from the catalogue and snapshotted."""
        now = self.clock()
        async with self.sessions() as session:
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, QUOTE_CREATE)
            currency = currency.strip() or opportunity.currency
        if not lines:
            raise ValidationFailed("a quote needs at least one line", "lines")
        products = await self.catalogue.products(principal, [line.product_id.strip() for line in lines])
        problems: list[tuple[str, str]] = []
        priced: list[quote_rules.QuoteLine] = []
        for i, line in enumerate(lines):
            product = products.get(line.product_id.strip())
            if product is None:
                problems.append((f"lines[{i}].product_id", f"{line.product_id!r} is not an active catalogue product"))
            elif currency not in product.prices:
                problems.append((f"lines[{i}].product_id", f"{product.name!r} has no {currency} price"))
            else:
                priced.append(quote_rules.QuoteLine(product.product_id, product.name, product.prices[currency],
                                                    line.quantity, line.discount))
        if problems:
            raise ValidationFailed.many(problems)
        async with self.sessions() as session, session.begin():
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, QUOTE_CREATE)
            if opportunity.status != "open":
                raise FailedPrecondition(f"the opportunity is closed ({opportunity.status}); it cannot be quoted",
                                         "opportunity_id")
            rows = await self._quote_versions(session, opportunity_id)
            revision = quote_rules.new_version([self._quote_domain(r) for r in rows], quote_id=new_id(),
                                               opportunity_id=opportunity_id, currency=currency, lines=priced,
                                               actor=principal.subject_id, now=now)
            quote, pricing = revision.new, revision.new.pricing
            row = Quote(id=quote.quote_id, opportunity_id=opportunity_id, owner_id=opportunity.owner_id,
                        org_path=opportunity.org_path, version=quote.version, currency=currency,
                        lines=[{"product_id": line.product_id, "name": line.name, "unit_price": str(line.unit_price),
                                "quantity": str(line.quantity),
                                "discount_kind": line.discount.kind.value if line.discount else "",
                                "discount_value": str(line.discount.value) if line.discount else "",
                                "gross": str(price.gross), "discount": str(price.discount), "net": str(price.net)}
                               for line, price in zip(quote.lines, pricing.lines)],
                        subtotal=str(pricing.subtotal), discount_total=str(pricing.discount_total),
                        total=str(pricing.total), status=quote.status.value, created_at=now,
                        created_by=principal.subject_id, accepted_at=None, accepted_by="", contract_id="")
            superseded_id = ""
            if revision.superseded is not None:
                previous = next(r for r in rows if r.id == revision.superseded.quote_id)
                previous.status = revision.superseded.status.value
                superseded_id = previous.id
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:  # a concurrent new version took this number
                raise Conflict("another version of this quote was just issued; reload and retry",
                               "opportunity_id") from None
            await self._quote_event(session, "versioned" if superseded_id else "created", row, opportunity,
                                    principal, now, superseded_id)
            return row

    async def list_quotes(self, principal: Principal, opportunity_id: str) -> list[Quote]:
        async with self.sessions() as session:
            await self._visible_opportunity(session, principal, opportunity_id, QUOTE_READ)
            return await self._quote_versions(session, opportunity_id)

    async def _acceptable_quote(self, session: AsyncSession, principal: Principal, quote_id: str,
                                now: datetime) -> tuple[Quote, Opportunity, quote_rules.Quote]:
        row = await session.get(Quote, quote_id)
        if row is None:
            raise NotFound(f"quote {quote_id!r} does not exist", "id")
        opportunity = await self._visible_opportunity(session, principal, row.opportunity_id, QUOTE_UPDATE)
        rows = await self._quote_versions(session, row.opportunity_id)
        accepted = quote_rules.accept([self._quote_domain(r) for r in rows], row.version, principal.subject_id, now)
        return row, opportunity, accepted

    @staticmethod
    def _contract_draft(row: Quote, customer_id: str, block: ContractBlock) -> ContractDraftRequest:
        """The contract draft for an accepted quote: its lines at their snapshot prices; an amount
        discount becomes the equivalent percentage of the line's gross (the contract's discounts are
        percentages)."""
        problems: list[tuple[str, str]] = []
        if not block.branch_code.strip():
            problems.append(("contract.branch_code", "is required"))
        days: dict[str, date] = {}
        for name, text in (("start_date", block.start_date), ("end_date", block.end_date)):
            try:
                days[name] = date.fromisoformat(text.strip())
            except ValueError:
                problems.append((f"contract.{name}", "must be a date YYYY-MM-DD"))
        if len(days) == 2 and days["end_date"] < days["start_date"]:
            problems.append(("contract.end_date", "must not be before start_date"))
        if problems:
            raise ValidationFailed.many(problems)
        lines = []
        for line in row.lines:
            if line.get("discount_kind") == quote_rules.DiscountKind.PERCENT.value:
                percent = Decimal(line["discount_value"])
            elif line.get("discount_kind") and Decimal(line["gross"]):
                percent = (Decimal(line["discount"]) * 100 / Decimal(line["gross"])).quantize(Decimal("0.000001"))
            else:
                percent = Decimal(0)
            lines.append(ContractLineDraft(line["product_id"], line["quantity"], line["unit_price"],
                                           format(percent.normalize(), "f") if percent else "0",
                                           f"{line['name']} (quote v{row.version})"))
        return ContractDraftRequest(customer_id=customer_id, currency=row.currency,
                                    branch_code=block.branch_code.strip(), start_date=days["start_date"].isoformat(),
                                    end_date=days["end_date"].isoformat(), terms=block.terms, lines=tuple(lines))

    async def accept_quote(self, principal: Principal, quote_id: str, contract: ContractBlock | None = None) -> Quote:
        """Accept the current version. With a contract block the draft contract is created through
        the contracts service after every local check passed and before the acceptance commits: if
        the contracts service refuses, nothing is accepted; if the commit then fails, the error
        names the contract that was created."""
        now = self.clock()
        contract_id = ""
        if contract is not None:
            async with self.sessions() as session:
                row, opportunity, _ = await self._acceptable_quote(session, principal, quote_id, now)
                draft = self._contract_draft(row, opportunity.customer_id, contract)
            contract_id = await self.catalogue.create_contract(principal, draft)
        try:
            async with self.sessions() as session, session.begin():
                row, opportunity, accepted = await self._acceptable_quote(session, principal, quote_id, now)
                row.status, row.accepted_at, row.accepted_by = accepted.status.value, now, principal.subject_id
                row.contract_id = contract_id
                await self._quote_event(session, "accepted", row, opportunity, principal, now)
                return row
        except DomainError as error:
            if not contract_id:
                raise
            raise type(error)(f"{error.message}; the quote was not accepted, but draft contract {contract_id} "
                              "was already created in the contracts service", error.field or "id") from None
        except Exception:
            if not contract_id:
                raise
            raise FailedPrecondition(f"the acceptance could not be saved; the quote was not accepted, but draft "
                                     f"contract {contract_id} was already created in the contracts service",
                                     "id") from None

    # --- lead import ------------------------------------------------------------------------

    async def import_leads(self, principal: Principal, rows: Sequence[ImportRow],
                           first_row: int = 1) -> tuple[list[str], list[ImportError]]:
        """Each row created like create_lead (validation, scope, assignment rules), in its own
        transaction; a bad row is reported (row number, CSV column, message) and skipped."""
        principal.require(LEAD_CREATE)
        if len(rows) > MAX_IMPORT_ROWS:
            raise ValidationFailed(f"at most {MAX_IMPORT_ROWS} rows per import", "rows")
        created: list[str] = []
        errors: list[ImportError] = []
        for offset, item in enumerate(rows):
            number = first_row + offset
            try:
                amount = None
                if item.estimated_amount.strip() or item.currency.strip():
                    if not item.estimated_amount.strip():
                        raise ValidationFailed("is required with a currency", "estimated_amount.amount")
                    try:
                        value = Decimal(item.estimated_amount.strip())
                    except InvalidOperation:
                        raise ValidationFailed(f"{item.estimated_amount!r} is not a decimal number",
                                               "estimated_amount.amount") from None
                    if not value.is_finite():
                        raise ValidationFailed("must be a finite number", "estimated_amount.amount")
                    amount = Money(value, item.currency.strip())
                row = await self.create_lead(principal, item.fields, amount, item.assign_to.strip())
                created.append(row.id)
            except DomainError as error:
                violations = error.violations or [(error.field or "", error.message)]
                for field, message in violations:
                    column = _import_column(field)
                    if not column and isinstance(error, PermissionDenied) and item.assign_to.strip():
                        column = "assign_to"
                    errors.append(ImportError(number, column, message))
        return created, errors

    # --- gate violations --------------------------------------------------------------------

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
            await self._load_models(session)
            rows = [fc.OpportunityRow(
                opportunity_id=r.id, owner_id=r.owner_id, team_id=r.org_path, org_path=r.org_path.strip("/"),
                close_date=r.expected_close_date, amount=Money(Decimal(r.amount), r.currency),
                probability=self.model_of(r.stage_model).stage(r.stage).probability, status=fc.RowStatus(r.status),
                commit_flag=r.commit)
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
            else:
                by_rule = await self._assign_by_rule(session, lead)
                if by_rule is not None:
                    lead, org_path = lead_rules.assign(lead, by_rule.user_id, now), by_rule.org_path
            row = Lead(id=lead.lead_id, company_name=lead.company_name, contact_name=lead.contact_name,
                       phone=lead.phone, email=lead.email, region=lead.region, industry=lead.industry,
                       source=lead.source, estimated_amount=str(estimated_amount.amount) if estimated_amount else None,
                       estimated_currency=estimated_amount.currency if estimated_amount else None,
                       created_at=now, created_by=principal.subject_id, version=0, status="pool", org_path=org_path)
            self._lead_store(row, lead, org_path, now)
            session.add(row)
            await self._lead_event(session, "created", row, principal, now)
            if row.owner_id:
                await self._lead_event(session, "assigned", row, principal, now)
            return row

    # --- lead assignment rules --------------------------------------------------------------

    @staticmethod
    async def _rules(session: AsyncSession) -> list[lead_rules.AssignmentRule]:
        rows = (await session.scalars(select(LeadAssignmentRule).order_by(LeadAssignmentRule.position))).all()
        return [lead_rules.AssignmentRule(r.region, r.industry, r.rep_id or None, r.team_id or None) for r in rows]

    @staticmethod
    async def _team_reps(session: AsyncSession, team_id: str) -> list[str]:
        """The team's active reps from the directory replica, in a stable order every replica shares."""
        rows = (await session.execute(select(directory_users.c.user_id, directory_users.c.roles).where(
            directory_users.c.unit_id == team_id, directory_users.c.active.is_(True))
            .order_by(directory_users.c.user_id))).all()
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
            state = await session.scalar(select(RoundRobinState).where(RoundRobinState.team_id == rule.team_id)
                                         .with_for_update())
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

    async def put_assignment_rules(self, principal: Principal,
                                   rules: Sequence[lead_rules.AssignmentRule]) -> list[lead_rules.AssignmentRule]:
        """Replace the rule table; every target must be an active rep / a known team in the caller's scope."""
        self._require_rule_admin(principal)
        rules = [lead_rules.AssignmentRule(r.region.strip(), r.industry.strip(), (r.rep_id or "").strip() or None,
                                           (r.team_id or "").strip() or None) for r in rules]
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
                    path = await session.scalar(select(directory_units.c.path).where(
                        directory_units.c.unit_id == rule.team_id, directory_units.c.active.is_(True)))
                    if path is None:
                        problems.append((f"rules[{i}].team_id", "is not a known org unit"))
                    elif not principal.can_see(LEAD_ASSIGN, "", path):
                        problems.append((f"rules[{i}].team_id", "is outside your scope"))
            if problems:
                raise ValidationFailed.many(problems)
            for old in (await session.scalars(select(LeadAssignmentRule))).all():
                await session.delete(old)
            await session.flush()
            session.add_all([LeadAssignmentRule(position=i, region=r.region, industry=r.industry, rep_id=r.rep_id or "",
                                                team_id=r.team_id or "") for i, r in enumerate(rules)])
        return rules

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
            await self._load_models(session)
            calendars = localtime.UnitCalendars(session)  # SLA days count on the owner's branch calendar
            for row in (await session.scalars(select(Opportunity).where(Opportunity.status == "open"))).all():
                owner = await get_user(session, row.owner_id)
                manager = await get_user(session, owner.manager_id) if owner and owner.manager_id else None
                check = sla.due_notifications(
                    subject_id=row.id, stage_code=row.stage, entered_at=row.stage_entered_at,
                    sla_days=self.model_of(row.stage_model).stage(row.stage).sla_days, now=now, owner_id=row.owner_id,
                    manager_id=owner.manager_id if owner else None,
                    escalation_ids=(manager.manager_id,) if manager and manager.manager_id else (),
                    last_level_notified=sla.SlaLevel(row.sla_level_notified),
                    zone_name=(await calendars.of_user(row.owner_id)).zone_name)
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
                zone_name = (await calendars.of_user(row.owner_id)).zone_name
                if lead_rules.is_reclaim_due(lead, now, self.reclaim_after_days, zone_name):
                    previous = row.owner_id
                    self._lead_store(row, lead_rules.reclaim(lead, now, self.reclaim_after_days, zone_name),
                                     row.org_path, now)
                    await self._lead_event(session, "reclaimed", row, None, now, previous)
                    written += 1
        return written
