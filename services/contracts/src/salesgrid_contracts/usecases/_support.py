"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common.actors import system_actor
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth.principal import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.events.outbox import Outbox
from salesgrid_contracts.domain import approval
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.contract_records import ContractRecord, RoundStep
from salesgrid_contracts.payloads import approval_step, contract_state, money_text
from salesgrid_contracts.pipeline_client import PipelineClient
from salesgrid_contracts.stores import approvals as approval_store


CONTRACT_FIELDS = "contracts"  # the custom-field entity of this service


SYSTEM_ACTOR = system_actor("contracts")


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValidationFailed(f"must be a date such as 2026-04-01, got {text!r}", field) from None


_money = money_text  # the amount as events and messages carry it


# document_id, file_name, content_type, size_bytes, sha256 as the caller gave them
AttachmentInput = tuple[str, str, str, int, str]


class ContractsUseCasesBase:
    """What every part of ContractsUseCases shares: its wiring and the helpers more than one topic uses."""

    def __init__(
        self, sessions: SessionFactory, outbox: Outbox, clock: Clock, pipeline: PipelineClient | None = None
    ) -> None:
        self.sessions = sessions
        self.outbox = outbox
        self.clock = clock
        self.pipeline = pipeline

    async def _event(
        self,
        session: AsyncSession,
        verb: str,
        payload: Message,
        aggregate_id: str,
        principal: Principal | None,
        org_path: str,
        now: datetime,
    ) -> None:
        """`principal` None: the service's own scheduler acted."""
        await self.outbox.record_by(
            session, verb, payload, principal, aggregate_id=aggregate_id, org_path=org_path, occurred_at=now
        )

    async def _contract_event(
        self,
        session: AsyncSession,
        verb: str,
        record: ContractRecord,
        principal: Principal | None,
        now: datetime,
        comment: str = "",
    ) -> None:
        """contracts.<verb> with the contract's state, built from the record."""
        payload = contract_state(record, comment)
        await self._event(session, verb, payload, record.contract_id, principal, record.org_path, now)

    async def _chain(self, session: AsyncSession, submitter_id: str, owner_id: str) -> list[tuple[str, str]]:
        """(user id, most senior approving role) up the submitter's managers, nearest first;
        the owner is left out so nobody approves his own contract."""
        return await management_chain(session, submitter_id, owner_id)

    async def _step_event(
        self, session: AsyncSession, verb: str, step: RoundStep, principal: Principal | None, now: datetime
    ) -> None:
        payload = approval_step(step)
        await self._event(session, f"approval.step_{verb}", payload, step.contract_id, principal, step.org_path, now)

    async def _start_flow(
        self,
        session: AsyncSession,
        principal: Principal,
        record: ContractRecord,
        kind: str,
        now: datetime,
        amount: Decimal | None = None,
    ) -> ContractRecord:
        """Routes the approval of `amount` (default: the contract total) up the submitter's chain;
        the record with the approval under way."""
        chain = await self._chain(session, principal.subject_id, record.owner_id)
        rules = await approval_store.rules_on_path(session, record.org_path, record.currency)
        total = record.total if amount is None else Money(amount, record.currency)
        steps = approval.route_approval(total, rules, principal.subject_id, chain)
        record, stored = await approval_store.start_round(
            session, record, kind, approval.start_approval(steps, now), now
        )
        await self._step_event(session, "activated", stored[0], principal, now)
        return record
