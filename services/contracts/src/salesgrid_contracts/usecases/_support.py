"""Helpers shared by the use-case modules of this package."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from google.protobuf.message import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import ContractsApprovalStep, ContractsContractState
from salesgrid_common import orgpaths
from salesgrid_common.custom_fields.structs import struct_of
from salesgrid_common.actors import system_actor
from salesgrid_common.approval_chain import management_chain
from salesgrid_common.auth import Principal
from salesgrid_common.clock import Clock
from salesgrid_common.db import SessionFactory
from salesgrid_common.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesgrid_common.events.envelope import EventMeta
from salesgrid_common.events.outbox import Outbox
from salesgrid_contracts import models
from salesgrid_contracts.domain import approval, attachments, contracts
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.pipeline_client import PipelineClient


CONTRACT_FIELDS = "contracts"  # the custom-field entity of this service


SYSTEM_ACTOR = system_actor("contracts")


def parse_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValidationFailed(f"must be a date such as 2026-04-01, got {text!r}", field) from None


@dataclass(frozen=True)
class ContractView:
    row: models.Contract
    lines: list[models.ContractLine]
    steps: list[models.ApprovalStepRow]
    proposed: models.ContractRevision | None = None


def _money(amount: Decimal, currency: str) -> str:
    return str(Money(amount, currency).amount)


def _line_json(line: contracts.ContractLine) -> dict[str, str]:
    return {
        "product_id": line.product_id,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price.amount),
        "discount_percent": str(line.discount_percent),
    }


# document_id, file_name, content_type, size_bytes, sha256 as the caller gave them
AttachmentInput = tuple[str, str, str, int, str]


def _attachment_json(ref: attachments.Attachment) -> dict[str, str | int]:
    return {
        "document_id": ref.document_id,
        "file_name": ref.file_name,
        "content_type": ref.content_type,
        "size_bytes": ref.size_bytes,
        "sha256": ref.sha256,
    }


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
        await self.outbox.record(
            session,
            f"salesgrid.contracts.{verb}",
            payload,
            EventMeta.acting(principal, "contracts", aggregate_id=aggregate_id, org_path=org_path),
            now,
        )

    async def _view(self, session: AsyncSession, row: models.Contract) -> ContractView:
        lines = list(
            await session.scalars(
                select(models.ContractLine)
                .where(models.ContractLine.contract_id == row.id)
                .order_by(models.ContractLine.position)
            )
        )
        steps = list(
            await session.scalars(
                select(models.ApprovalStepRow)
                .where(models.ApprovalStepRow.contract_id == row.id, models.ApprovalStepRow.round == row.approval_round)
                .order_by(models.ApprovalStepRow.step_order)
            )
        )
        proposed = None
        if row.approval_kind == "amendment":
            proposed = await session.get(models.ContractRevision, (row.id, row.revision + 1))
        return ContractView(row, lines, steps, proposed)

    async def _views(self, session: AsyncSession, rows: Sequence[models.Contract]) -> list[ContractView]:
        """`_view` for a page of contracts in three queries, whatever the page size (lines, the
        current round's approval steps, the proposed amendments), not two or three per row."""
        ids = [row.id for row in rows]
        if not ids:
            return []
        lines: dict[str, list[models.ContractLine]] = {contract_id: [] for contract_id in ids}
        for line in await session.scalars(
            select(models.ContractLine)
            .where(models.ContractLine.contract_id.in_(ids))
            .order_by(models.ContractLine.position)
        ):
            lines[line.contract_id].append(line)
        rounds = {row.id: row.approval_round for row in rows}
        steps: dict[str, list[models.ApprovalStepRow]] = {contract_id: [] for contract_id in ids}
        for step in await session.scalars(
            select(models.ApprovalStepRow)
            .where(models.ApprovalStepRow.contract_id.in_(ids))
            .order_by(models.ApprovalStepRow.step_order)
        ):
            if step.round == rounds[step.contract_id]:
                steps[step.contract_id].append(step)
        wanted = {(row.id, row.revision + 1) for row in rows if row.approval_kind == "amendment"}
        proposed: dict[str, models.ContractRevision] = {}
        if wanted:
            for revision in await session.scalars(
                select(models.ContractRevision).where(
                    models.ContractRevision.contract_id.in_([contract_id for contract_id, _ in wanted])
                )
            ):
                if (revision.contract_id, revision.revision) in wanted:
                    proposed[revision.contract_id] = revision
        return [ContractView(row, lines[row.id], steps[row.id], proposed.get(row.id)) for row in rows]

    async def _load(
        self,
        session: AsyncSession,
        principal: Principal,
        contract_id: str,
        permission: str,
        *,
        lock: bool = False,
        expected_version: int = 0,
    ) -> models.Contract:
        query = select(models.Contract).where(models.Contract.id == contract_id)
        if lock:
            query = query.with_for_update()
        row = await session.scalar(query)
        if row is None or not principal.can_see("contracts:read", row.owner_id, row.org_path):
            raise NotFound(f"contract {contract_id} not found", "id")
        if permission != "contracts:read" and not principal.can_see(permission, row.owner_id, row.org_path):
            raise PermissionDenied(f"{permission} does not cover this contract")
        if expected_version and expected_version != row.version:
            raise Conflict(f"contract {row.number} is at version {row.version}, not {expected_version}", "version")
        return row

    @staticmethod
    def _domain(view: ContractView) -> contracts.Contract:
        row = view.row
        lines = tuple(
            contracts.ContractLine(
                line.product_id,
                line.description,
                line.quantity,
                Money(line.unit_price, row.currency),
                line.discount_percent,
            )
            for line in view.lines
        )
        termination = None
        if row.termination_reason is not None and row.termination_requested_at is not None:
            termination = contracts.TerminationRequest(
                row.termination_reason, row.termination_requested_by or "", row.termination_requested_at
            )
        return contracts.Contract(
            contract_id=row.id,
            number=row.number,
            version=row.revision,
            customer_id=row.customer_id,
            owner_id=row.owner_id,
            org_unit_id=row.org_unit_id,
            currency=row.currency,
            start_date=row.start_date,
            end_date=row.end_date,
            lines=lines,
            terms=row.terms,
            status=contracts.ContractStatus(row.status),
            created_at=row.created_at,
            signed_on=row.signed_on,
            termination=termination,
            terminated_at=row.terminated_at,
        )

    def _state(self, row: models.Contract, comment: str = "") -> ContractsContractState:
        return ContractsContractState(
            contract_id=row.id,
            number=row.number,
            customer_id=row.customer_id,
            owner_id=row.owner_id,
            org_path=row.org_path,
            currency=row.currency,
            total=_money(row.total, row.currency),
            status=row.status,
            approval_kind=row.approval_kind or "",
            comment=comment,
            version=row.version,
            revision=row.revision,
            custom_fields=struct_of(row.custom_fields),
            channel=row.channel or "direct",
            partner_id=row.partner_id or "",
        )

    async def _chain(self, session: AsyncSession, submitter_id: str, owner_id: str) -> list[tuple[str, str]]:
        """(user id, most senior approving role) up the submitter's managers, nearest first;
        the owner is left out so nobody approves his own contract."""
        return await management_chain(session, submitter_id, owner_id)

    async def _step_event(
        self,
        session: AsyncSession,
        verb: str,
        row: models.Contract,
        step: models.ApprovalStepRow,
        principal: Principal | None,
        now: datetime,
    ) -> None:
        payload = ContractsApprovalStep(
            contract_id=row.id,
            number=row.number,
            approval_kind=step.kind,
            round=step.round,
            step_order=step.step_order,
            role=step.role,
            approver_id=step.approver_id,
            status=step.status,
            comment=step.comment or "",
        )
        await self._event(session, f"approval.step_{verb}", payload, row.id, principal, row.org_path, now)

    @staticmethod
    def _rule_set(stored: models.ApprovalRuleSet) -> approval.ApprovalRules:
        return approval.ApprovalRules(
            stored.org_unit_id,
            tuple(
                approval.ApprovalRule(
                    None if t["up_to"] is None else Money(Decimal(t["up_to"]), stored.currency), str(t["role"])
                )
                for t in stored.thresholds
            ),
        )

    async def _rules(self, session: AsyncSession, org_path: str, currency: str) -> approval.ApprovalRules:
        """The rules of the nearest unit on the owner's org path (own unit first) that has its own."""
        path = orgpaths.units_nearest_first(org_path)
        stored = list(
            await session.scalars(select(models.ApprovalRuleSet).where(models.ApprovalRuleSet.org_unit_id.in_(path)))
        )
        return approval.rules_for_unit(path, {r.org_unit_id: self._rule_set(r) for r in stored}, currency)

    async def _start_flow(
        self,
        session: AsyncSession,
        principal: Principal,
        row: models.Contract,
        kind: str,
        now: datetime,
        amount: Decimal | None = None,
    ) -> None:
        """Routes the approval of `amount` (default: the contract total) up the submitter's chain."""
        chain = await self._chain(session, principal.subject_id, row.owner_id)
        rules = await self._rules(session, row.org_path, row.currency)
        steps = approval.route_approval(
            Money(row.total if amount is None else amount, row.currency), rules, principal.subject_id, chain
        )
        flow = approval.start_approval(steps, now)
        row.approval_kind, row.approval_round, row.approval_started_at = kind, row.approval_round + 1, now
        stored = [
            models.ApprovalStepRow(
                contract_id=row.id,
                round=row.approval_round,
                step_order=step.order,
                kind=kind,
                role=step.role,
                approver_id=step.approver_id,
                status=step.status.value,
                activated_at=step.activated_at,
            )
            for step in flow.steps
        ]
        session.add_all(stored)
        await self._step_event(session, "activated", row, stored[0], principal, now)

    @staticmethod
    async def _template(
        session: AsyncSession, template_id: str, version: int = 0, field: str = "template_id"
    ) -> models.ContractTemplateRow:
        """The given version of a template (0: the latest)."""
        query = select(models.ContractTemplateRow).where(models.ContractTemplateRow.template_id == template_id)
        query = (
            query.where(models.ContractTemplateRow.version == version)
            if version
            else query.order_by(models.ContractTemplateRow.version.desc()).limit(1)
        )
        row = await session.scalar(query)
        if row is None:
            raise ValidationFailed(f"unknown contract template {template_id!r}", field)
        return row

    async def _instalments(self, session: AsyncSession, contract_id: str) -> list[models.InstalmentRow]:
        return list(
            await session.scalars(
                select(models.InstalmentRow)
                .where(models.InstalmentRow.contract_id == contract_id)
                .order_by(models.InstalmentRow.seq)
            )
        )
