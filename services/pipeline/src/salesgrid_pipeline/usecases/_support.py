"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.pipeline_events_pb2 import PipelineOpportunityState
from salesgrid_common import localtime
from salesgrid_common.actors import system_actor
from salesgrid_common.auth.principal import Principal
from salesgrid_common.channels import DIRECT, Attribution
from salesgrid_common.clock import Clock
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_common.db import SessionFactory
from salesgrid_common.directory import get_user
from salesgrid_common.errors import Conflict, PermissionDenied, ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_common.ids import new_id
from salesgrid_pipeline.domain import leads as lead_rules
from salesgrid_pipeline.domain.opportunities import (
    Opportunity,
    OpportunityInput,
    close_date_valid_everywhere,
    validate_opportunity,
)
from salesgrid_pipeline.domain.stage_model import StageModel, default_stage_model
from salesgrid_pipeline.stage_model_events import DEFAULT_VERSION
from salesgrid_pipeline.domain.stages import StageTransition
from salesgrid_pipeline.contracts_client import ContractsClient
from salesgrid_pipeline.customers_client import CustomersClient
from salesgrid_pipeline.domain import quotes as quote_rules
from salesgrid_pipeline.stores import stage_models as stage_model_store
from salesgrid_pipeline.payloads import lead_state, opportunity_state, quote_state
from salesgrid_pipeline.stores import opportunities as opportunity_store

OPPORTUNITY_FIELDS = "opportunities"  # the custom-field entities of this service
LEAD_FIELDS = "leads"


OPP_READ, OPP_CREATE, OPP_UPDATE = "opportunities:read", "opportunities:create", "opportunities:update"
LEAD_READ, LEAD_CREATE, LEAD_UPDATE, LEAD_ASSIGN = "leads:read", "leads:create", "leads:update", "leads:assign"

DIRECT_SALE = Attribution(DIRECT, "")
SYSTEM_ACTOR = system_actor("pipeline")  # the actor of the SLA engine and lead reclaim


class PipelineUseCasesBase:
    """What every part of PipelineUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(
        self,
        sessions: SessionFactory,
        outbox: Outbox,
        clock: Clock,
        customers: CustomersClient,
        contracts: ContractsClient,
        model: StageModel | None = None,
        reclaim_after_days: int = lead_rules.RECLAIM_AFTER_DAYS,
    ) -> None:
        self.sessions = sessions
        self.customers = customers
        self.contracts = contracts
        self.outbox = outbox
        self.clock = clock
        self.model = model or default_stage_model()
        # every administered model as last read, with its version: a use case on one opportunity
        # checks the version stored with the row it reads (`_model_at`), one on many re-reads the
        # table (`_load_models`), so replicas agree; the sync helpers (facts, probabilities) use
        # this snapshot. Bounded by the stored models (one per business line; never deleted).
        self._models: dict[str, StageModel] = {self.model.code: self.model}
        self._versions: dict[str, int] = {self.model.code: DEFAULT_VERSION}
        self.reclaim_after_days = reclaim_after_days

    @staticmethod
    def _check_version(version: int, expected: int) -> None:
        if expected and version != expected:
            raise Conflict.stale_version(
                f"the record changed (version {version}, you sent {expected}); reload and retry",
                "expected_version",
                current=version,
                sent=expected,
            )

    async def _emit(
        self,
        session: AsyncSession,
        event_type: str,
        payload,
        aggregate_id: str,  # type: ignore[no-untyped-def]
        org_path: str,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        await self.outbox.record_by(
            session, event_type, payload, principal, aggregate_id=aggregate_id, org_path=org_path, occurred_at=now
        )

    async def _quote_event(
        self,
        session: AsyncSession,
        verb: str,
        quote: quote_rules.Quote,
        opportunity: Opportunity,
        principal: Principal | None,
        now: datetime,
        superseded_id: str = "",
    ) -> None:
        payload = quote_state(quote, opportunity.customer_id, superseded_id)
        await self._emit(session, f"quote.{verb}", payload, quote.quote_id, quote.org_path, principal, now)

    async def _user_in_scope(
        self, session: AsyncSession, principal: Principal, permission: str, user_id: str, field: str
    ) -> tuple[str, str]:
        """(user id, org path) of a user the caller may act for; the caller himself needs no lookup."""
        if not user_id or user_id == principal.subject_id:
            return principal.subject_id, principal.org_path
        user = await get_user(session, user_id)
        if user is None or not user.active:
            raise ValidationFailed("is not a known active user", field)
        if not principal.can_see(permission, user.user_id, user.org_path):
            raise PermissionDenied(f"{field} is outside your scope", field)
        return user.user_id, user.org_path

    def _opportunity_event(
        self, opportunity: Opportunity, transition: StageTransition | None = None
    ) -> PipelineOpportunityState:
        code = opportunity.stage_model
        return opportunity_state(
            opportunity, self.model_of(code), self._versions.get(code, DEFAULT_VERSION), transition
        )

    async def _load_models(self, session: AsyncSession) -> dict[str, StageModel]:
        models = {self.model.code: self.model}
        versions = {self.model.code: DEFAULT_VERSION}
        for code, (model, version) in (await stage_model_store.stored(session)).items():
            models[code], versions[code] = model, version
        self._models, self._versions = models, versions
        return models

    async def _model_at(self, session: AsyncSession, code: str, version: int | None) -> StageModel:
        """The model `code` as stored at `version`, read in the caller's transaction (None: none is
        stored, so the built-in default, which model_of also gives an unknown code): the cached one
        while its version is the stored one, else read once and cached. Versions only grow, so a
        model another replica changed is never served from here."""
        if version is None:
            if self._versions.get(code, DEFAULT_VERSION) != DEFAULT_VERSION:  # no longer stored (a restore)
                self._models.pop(code, None)
                self._versions.pop(code, None)
            return self.model
        if self._versions.get(code) != version or code not in self._models:
            found = await stage_model_store.stored_one(session, code)
            if found is None:
                return self.model
            self._models[code], self._versions[code] = found
        return self._models[code]

    def _models_in(self, session: AsyncSession) -> opportunity_store.ModelAt:
        """`_model_at` in this session, for the store's loads."""

        async def model_at(code: str, version: int | None) -> StageModel:
            return await self._model_at(session, code, version)

        return model_at

    async def _model_for_new(self, session: AsyncSession, code: str) -> StageModel:
        """The model a new opportunity follows (the default when `code` is blank), as stored now."""
        wanted = code.strip() or self.model.code
        version = await stage_model_store.version_of(session, wanted)
        if version is None and wanted != self.model.code:
            raise ValidationFailed(f"stage model {code!r} does not exist", "stage_model")
        return await self._model_at(session, wanted, version)

    async def _precheck_model(self, code: str) -> None:
        """Refuse an unknown stage model before any remote call: a code cached here exists (models
        are never deleted, `_model_for_new` reads the one in force), any other is looked up."""
        if (code.strip() or self.model.code) not in self._models:
            async with self.sessions() as session:
                await self._model_for_new(session, code)

    async def _insert_opportunity(
        self,
        session: AsyncSession,
        principal: Principal,
        data: OpportunityInput,
        owner: str,
        org_path: str,
        now: datetime,
        stage_model: str = "",
        custom_fields: Mapping[str, Any] | None = None,
        enforce_required: bool = True,
        attribution: Attribution = DIRECT_SALE,
    ) -> Opportunity:
        """enforce_required False: a lead's conversion, which carries no custom fields; required
        ones are filled afterwards (a stage gate can insist on them). A lead's conversion is a
        direct sale."""
        model = await self._model_for_new(session, stage_model)
        names = await opportunity_store.names_like(session, data.customer_id.strip(), data.name)
        latest = localtime.latest_local_date(now)  # a date valid there is valid in the owner's zone too
        if close_date_valid_everywhere(data.expected_close_date, latest):
            today = latest
        else:
            today = (await localtime.user_calendar(session, owner)).today(now)
        valid = validate_opportunity(data, names, now, today=today)
        opportunity_id = new_id()
        values = await apply_values(
            session,
            OPPORTUNITY_FIELDS,
            opportunity_id,
            {},
            custom_fields,
            business_line=model.code,
            creating=enforce_required,
        )
        opportunity = Opportunity(
            opportunity_id=opportunity_id,
            customer_id=valid.customer_id,
            name=valid.name,
            owner_id=owner,
            org_path=org_path,
            amount=valid.amount,
            expected_close_date=valid.expected_close_date,
            competitors=valid.competitors,
            products=valid.products,
            stage_model=model.code,
            stage=model.entry_stage_code,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
            custom_fields=values,
            channel=attribution.channel,
            partner_id=attribution.partner_id,
        )
        await opportunity_store.insert(session, opportunity)
        await self._emit(
            session,
            "opportunity.created",
            self._opportunity_event(opportunity),
            opportunity_id,
            org_path,
            principal,
            now,
        )
        return opportunity

    async def _visible_opportunity(
        self, session: AsyncSession, principal: Principal, opportunity_id: str, permission: str
    ) -> Opportunity:
        principal.require(permission)
        return await opportunity_store.load_in_scope(
            session, principal, opportunity_id, permission, self._models_in(session)
        )

    async def _lead_event(
        self,
        session: AsyncSession,
        verb: str,
        lead: lead_rules.Lead,
        principal: Principal | None,
        now: datetime,
        previous_owner: str = "",
    ) -> None:
        payload = lead_state(lead, previous_owner)
        await self._emit(session, f"lead.{verb}", payload, lead.lead_id, lead.org_path, principal, now)
