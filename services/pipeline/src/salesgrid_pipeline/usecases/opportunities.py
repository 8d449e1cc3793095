"""Opportunities use cases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from dataclasses import replace
from datetime import date


from salesgrid_common import localtime
from salesgrid_common.auth.principal import Principal
from salesgrid_common.channels import attribution, precheck_attribution
from salesgrid_common.errors import Conflict, DomainError, FailedPrecondition, ValidationFailed
from salesgrid_common.custom_fields.records import apply_values
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import Opportunity, OpportunityInput, validate_opportunity
from salesgrid_common.customer_merges import survivor_of
from salesgrid_pipeline.stores import opportunities as opportunity_store

from salesgrid_pipeline.usecases._support import (
    OPP_CREATE,
    OPP_READ,
    OPP_UPDATE,
    OPPORTUNITY_FIELDS,
    PipelineUseCasesBase,
)


class OpportunitiesMixin(PipelineUseCasesBase):
    """PipelineUseCases: opportunities."""

    async def create_opportunity(
        self,
        principal: Principal,
        data: OpportunityInput,
        owner_id: str,
        stage_model: str = "",
        custom_fields: Mapping[str, Any] | None = None,
        channel: str = "",
        partner_id: str = "",
    ) -> Opportunity:
        """A new opportunity, attributed to a sales channel (direct by default) and, through an
        agent or distributor, to an active partner of that channel as customers' events describe it."""
        principal.require(OPP_CREATE)
        now = self.clock()
        # bad input is refused before any remote call (the owner's calendar is checked again below)
        validate_opportunity(data, (), now, today=localtime.earliest_local_date(now))
        precheck_attribution(channel, partner_id)
        await self._precheck_model(stage_model)
        named = data.customer_id.strip()
        checked = await self._visible_customer(principal, named)
        for _ in range(2):
            async with self.sessions() as session, session.begin():
                # a merged customer's id stands for its survivor; holds off a merge until commit
                survivor = await survivor_of(session, named)
                if survivor == checked:
                    owner, org_path = await self._user_in_scope(session, principal, OPP_CREATE, owner_id, "owner_id")
                    sale = await attribution(session, channel, partner_id)
                    return await self._insert_opportunity(
                        session,
                        principal,
                        replace(data, customer_id=survivor),
                        owner,
                        org_path,
                        now,
                        stage_model,
                        custom_fields,
                        attribution=sale,
                    )
            # merged before (customers answered for the merged id) or meanwhile: the survivor must
            # be the caller's to see too, checked outside the transaction
            checked = survivor
            await self.customers.visible_customer(principal, survivor)
        raise Conflict("the customer was merged into another one meanwhile; retry", "customer_id")

    async def _visible_customer(self, principal: Principal, customer_id: str) -> str:
        """The id customers confirmed the caller may see: `customer_id`, or its survivor when
        customers refuses a merged id (the transaction checks the survivor again)."""
        try:
            await self.customers.visible_customer(principal, customer_id)
            return customer_id
        except DomainError:
            async with self.sessions() as session:
                survivor = await survivor_of(session, customer_id, writing=False)
            if survivor == customer_id:
                raise
        await self.customers.visible_customer(principal, survivor)
        return survivor

    async def get_opportunity(self, principal: Principal, opportunity_id: str) -> Opportunity:
        async with self.sessions() as session:
            return await self._visible_opportunity(session, principal, opportunity_id, OPP_READ)

    async def list_opportunities(
        self,
        principal: Principal,
        *,
        owner_id: str,
        customer_id: str,
        status: str,
        stage: str,
        page_size: int,
        after: str,
        custom_fields: Mapping[str, str] | None = None,
    ) -> tuple[list[Opportunity], str]:
        principal.require(OPP_READ)
        async with self.sessions() as session:
            customer_id = await survivor_of(session, customer_id, writing=False)  # a merged id lists the survivor's
            await self._load_models(session)
            return await opportunity_store.page_in_scope(
                session,
                principal,
                OPP_READ,
                self.model_of,
                equal={"owner_id": owner_id, "customer_id": customer_id, "status": status, "stage": stage},
                custom_fields=custom_fields or {},
                page_size=page_size,
                after=after,
            )

    async def update_opportunity(
        self,
        principal: Principal,
        opportunity_id: str,
        *,
        amount: Money | None,
        expected_close_date: date | None,
        commit: bool | None,
        expected_version: int,
        custom_fields: Mapping[str, Any] | None = None,
    ) -> Opportunity:
        """Amount, expected close date and the forecast commit flag of an open opportunity;
        the caller must send the version he read (If-Match)."""
        if not expected_version:
            raise ValidationFailed("is required (send If-Match with the version you read)", "expected_version")
        if amount is None and expected_close_date is None and commit is None and not custom_fields:
            raise ValidationFailed(
                "give at least one of amount, expected_close_date, commit and custom_fields", "amount"
            )
        now = self.clock()
        async with self.sessions() as session, session.begin():
            opportunity = await self._visible_opportunity(session, principal, opportunity_id, OPP_UPDATE)
            self._check_version(opportunity.version, expected_version)
            if opportunity.status != "open":
                raise FailedPrecondition(
                    f"the opportunity is closed ({opportunity.status}); it cannot be changed", "status"
                )
            current = OpportunityInput(
                customer_id=opportunity.customer_id,
                name=opportunity.name,
                amount=opportunity.amount,
                expected_close_date=opportunity.expected_close_date,
            )
            valid = validate_opportunity(
                replace(
                    current,
                    amount=amount or current.amount,
                    expected_close_date=expected_close_date or current.expected_close_date,
                ),
                (),
                now,
                today=(await localtime.user_calendar(session, opportunity.owner_id)).today(now),
            )
            changed = replace(
                opportunity,
                amount=valid.amount,
                expected_close_date=valid.expected_close_date,
                commit=opportunity.commit if commit is None else commit,
            )
            if custom_fields:
                changed = replace(
                    changed,
                    custom_fields=await apply_values(
                        session,
                        OPPORTUNITY_FIELDS,
                        opportunity.opportunity_id,
                        opportunity.custom_fields,
                        custom_fields,
                        business_line=opportunity.stage_model,
                    ),
                )
            saved = await opportunity_store.save(session, changed, now)
            await self._emit(
                session,
                "opportunity.updated",
                self._opportunity_event(saved),
                saved.opportunity_id,
                saved.org_path,
                principal,
                now,
            )
            return saved
