"""Approval use cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.contracts_events_pb2 import ContractsInstalmentOverdue
from salesgrid_common.approval import store_steps, stored_reminder_due
from salesgrid_common.auth import Principal
from salesgrid_common.directory import unit_path_in_scope
from salesgrid_common.errors import Conflict, FailedPrecondition, NotFound, ValidationFailed
from salesgrid_common.localtime import UnitCalendars, latest_local_date
from salesgrid_contracts import models
from salesgrid_contracts.domain import amendments, approval, contracts
from salesgrid_contracts.domain.currencies import validate_currency
from salesgrid_contracts.domain.money import parse_money

from salesgrid_contracts.stores import contracts as contract_store
from salesgrid_contracts.payloads import contract_state
from salesgrid_contracts.usecases._support import ContractsUseCasesBase, _money
from salesgrid_contracts.stores.contracts import ContractView


APPROVAL_REMINDER_AFTER = timedelta(hours=24)  # a pending step reminds its approver after this wait


class ApprovalMixin(ContractsUseCasesBase):
    """ContractsUseCases: approval."""

    @staticmethod
    def _flow(view: ContractView) -> approval.ApprovalFlow:
        row = view.row
        if row.approval_kind is None or row.approval_started_at is None:
            raise FailedPrecondition("this contract has no approval under way", "status")
        steps = tuple(
            approval.ApprovalStep(
                order=s.step_order,
                role=s.role,
                approver_id=s.approver_id,
                status=approval.StepStatus(s.status),
                activated_at=s.activated_at,
                decided_at=s.decided_at,
                comment=s.comment,
                reminded_at=s.reminded_at,
            )
            for s in view.steps
        )
        return approval.ApprovalFlow(steps, approval.FlowStatus.PENDING, row.approval_started_at)

    async def set_approval_rules(
        self, principal: Principal, org_unit_id: str, currency: str, thresholds: Sequence[tuple[str, str]]
    ) -> approval.ApprovalRules:
        principal.require("org_units:update")
        unit = org_unit_id.strip()
        if not unit:
            raise ValidationFailed("is required", "org_unit_id")
        validate_currency(currency)
        try:
            rules = approval.ApprovalRules(
                unit,
                tuple(
                    approval.ApprovalRule(
                        parse_money(up_to, currency, f"thresholds[{i}].up_to") if up_to.strip() else None, role
                    )
                    for i, (up_to, role) in enumerate(thresholds)
                ),
            )
        except ValidationFailed as exc:  # the domain speaks of "rules", the API of "thresholds"
            raise ValidationFailed.many(
                ((field or "thresholds").replace("rules", "thresholds", 1), message)
                for field, message in (getattr(exc, "violations", None) or [(exc.field, exc.message)])
            ) from None
        stored_thresholds: list[dict[str, str | None]] = [
            {"up_to": None if r.up_to is None else str(r.up_to.amount), "role": r.role} for r in rules.rules
        ]
        async with self.sessions() as session, session.begin():
            await unit_path_in_scope(session, principal, unit, "org_units:update", "org_unit_id")
            stored = await session.get(models.ApprovalRuleSet, unit)
            if stored is None:
                session.add(
                    models.ApprovalRuleSet(
                        org_unit_id=unit,
                        currency=currency,
                        thresholds=stored_thresholds,
                        updated_by=principal.subject_id,
                        updated_at=self.clock(),
                    )
                )
            else:
                stored.currency, stored.thresholds = currency, stored_thresholds
                stored.updated_by, stored.updated_at = principal.subject_id, self.clock()
        return rules

    async def get_approval_rules(self, principal: Principal, org_unit_id: str) -> approval.ApprovalRules:
        """The unit's own rules, else the defaults (CNY)."""
        principal.require("org_units:read")
        async with self.sessions() as session:
            await unit_path_in_scope(session, principal, org_unit_id, "org_units:read", "org_unit_id")
            stored = await session.get(models.ApprovalRuleSet, org_unit_id)
            return self._rule_set(stored) if stored else approval.default_approval_rules(org_unit_id)

    async def _save_flow(
        self,
        session: AsyncSession,
        view: ContractView,
        flow: approval.ApprovalFlow,
        principal: Principal,
        now: datetime,
    ) -> None:
        """Stores the steps and emits approval.step_<approved|rejected> for the decided step and
        approval.step_activated for the one whose turn starts."""
        for stored, verb in store_steps(flow, {s.step_order: s for s in view.steps}):
            await self._step_event(session, verb, view.row, stored, principal, now)

    async def submit(self, principal: Principal, contract_id: str, expected_version: int) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            submitted = contracts.submit_for_approval(contract_store.domain_of(await contract_store.view(session, row)))
            await self._start_flow(session, principal, row, "contract", now)
            contract_store.save(row, submitted)
            await self._event(session, "contract.submitted", contract_state(row), row.id, principal, row.org_path, now)
            await session.flush()
            return await contract_store.view(session, row)

    async def decide(
        self, principal: Principal, contract_id: str, *, approve: bool, comment: str, expected_version: int
    ) -> ContractView:
        """The current approver approves or rejects the flow under way (a new contract's, or a
        termination request's); the last approval or any rejection settles the contract."""
        principal.require("contracts:approve")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(
                select(models.Contract).where(models.Contract.id == contract_id).with_for_update()
            )
            if row is None:
                raise NotFound(f"contract {contract_id} not found", "id")
            if expected_version and expected_version != row.version:
                raise Conflict(f"contract {row.number} is at version {row.version}, not {expected_version}", "version")
            view = await contract_store.view(session, row)
            flow, kind = self._flow(view), row.approval_kind
            if approve:
                flow = approval.approve_step(flow, principal.subject_id, now, comment or None)
            else:
                flow = approval.reject_step(flow, principal.subject_id, comment, now)
            await self._save_flow(session, view, flow, principal, now)
            row.version += 1
            if flow.status is approval.FlowStatus.PENDING:
                await session.flush()
                return await contract_store.view(session, row)
            contract = contract_store.domain_of(view)
            if kind == "amendment":
                await self._settle_amendment(session, view, approve)
            elif kind == "contract":
                contract = contracts.approve(contract) if approve else contracts.reject(contract)
            elif approve:
                contract = contracts.approve_termination(contract, now)
            else:
                contract = contracts.reject_termination(contract)
            contract_store.to_row(contract, row)
            verb = (
                {"termination": "terminated", "amendment": "amended"}.get(kind or "", "approved")
                if approve
                else "rejected"
            )
            state = contract_state(row, comment)
            state.approval_kind = kind or ""
            row.approval_kind = None
            await self._event(session, f"contract.{verb}", state, row.id, principal, row.org_path, now)
            await session.flush()
            return await contract_store.view(session, row)

    async def request_termination(
        self, principal: Principal, contract_id: str, reason: str, expected_version: int
    ) -> ContractView:
        principal.require("contracts:update")
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await contract_store.load_in_scope(
                session, principal, contract_id, "contracts:update", lock=True, expected_version=expected_version
            )
            if row.approval_kind is not None:
                raise FailedPrecondition(f"an approval ({row.approval_kind}) is already under way", "status")
            requested = contracts.request_termination(
                contract_store.domain_of(await contract_store.view(session, row)),
                reason=reason,
                requested_by=principal.subject_id,
                now=now,
            )
            await self._start_flow(session, principal, row, "termination", now)
            contract_store.save(row, requested)
            await session.flush()
            return await contract_store.view(session, row)

    async def _settle_amendment(self, session: AsyncSession, view: ContractView, approve: bool) -> None:
        """Approved: the version in force is kept as superseded and the proposal takes its place
        (status and signature carry over). Rejected: the proposal is kept as rejected."""
        row, proposed = view.row, view.proposed
        assert proposed is not None
        if not approve:
            proposed.status = "rejected"
            return
        current = contract_store.domain_of(view)
        amendments.apply_amendment(
            current,
            replace(
                current,
                version=proposed.revision,
                previous_version=current.version,
                status=contracts.ContractStatus.APPROVED,
            ),
        )
        old = await session.get(models.ContractRevision, (row.id, row.revision))
        if old is None:
            session.add(
                models.ContractRevision(
                    contract_id=row.id,
                    revision=row.revision,
                    status="superseded",
                    start_date=row.start_date,
                    end_date=row.end_date,
                    terms=row.terms,
                    total=row.total,
                    attachments=list(row.attachments),
                    lines=[contract_store.line_json(line) for line in current.lines],
                    created_by=row.owner_id,
                    created_at=row.created_at,
                )
            )
        else:
            old.status = "superseded"
        proposed.status = "in_force"
        await session.execute(delete(models.ContractLine).where(models.ContractLine.contract_id == row.id))
        for position, line in enumerate(proposed.lines):
            session.add(
                models.ContractLine(
                    contract_id=row.id,
                    position=position,
                    product_id=line["product_id"],
                    description=line["description"],
                    quantity=Decimal(line["quantity"]),
                    unit_price=Decimal(line["unit_price"]),
                    discount_percent=Decimal(line["discount_percent"]),
                )
            )
        row.start_date, row.end_date, row.terms = proposed.start_date, proposed.end_date, proposed.terms
        row.total, row.revision = proposed.total, proposed.revision
        row.attachments = list(proposed.attachments)

    async def send_reminders(self, approval_timeout: timedelta = APPROVAL_REMINDER_AFTER) -> int:
        """One scheduler run on the service clock: approval.step_reminded for each pending step that
        has waited `approval_timeout` since its turn (or its last reminder), instalment.overdue once
        per unpaid instalment past its due date. Marks are written with the events, so runs are
        idempotent and concurrent replicas skip rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            pending = (
                select(models.ApprovalStepRow, models.Contract)
                .join(models.Contract, models.Contract.id == models.ApprovalStepRow.contract_id)
                .where(
                    models.ApprovalStepRow.status == "pending",
                    models.ApprovalStepRow.activated_at.is_not(None),
                    models.ApprovalStepRow.round == models.Contract.approval_round,
                    models.Contract.approval_kind.is_not(None),
                )
                .with_for_update(of=models.ApprovalStepRow, skip_locked=True)
            )
            for step, row in (await session.execute(pending)).all():
                if not stored_reminder_due(step, now, approval_timeout):
                    continue
                step.reminded_at = now
                await self._step_event(session, "reminded", row, step, None, now)
                sent += 1
            overdue = (
                select(models.InstalmentRow, models.Contract)
                .join(models.Contract, models.Contract.id == models.InstalmentRow.contract_id)
                .where(
                    models.Contract.status.in_(("signed", "active")),
                    models.InstalmentRow.overdue_reminded_at.is_(None),
                    # candidates: overdue somewhere on earth; each is then judged on
                    # its own branch's calendar below
                    models.InstalmentRow.due_date < latest_local_date(now),
                )
                .with_for_update(of=models.InstalmentRow, skip_locked=True)
            )
            calendars = UnitCalendars(session)
            for instalment, row in (await session.execute(overdue)).all():
                if instalment.paid >= instalment.amount:
                    continue
                if instalment.due_date >= (await calendars.of_unit(row.org_unit_id)).today(now):
                    continue
                instalment.overdue_reminded_at = now
                payload = ContractsInstalmentOverdue(
                    contract_id=row.id,
                    number=row.number,
                    customer_id=row.customer_id,
                    owner_id=row.owner_id,
                    seq=instalment.seq,
                    due_date=instalment.due_date.isoformat(),
                    outstanding=_money(instalment.amount - instalment.paid, row.currency),
                    currency=row.currency,
                )
                await self._event(session, "instalment.overdue", payload, row.id, None, row.org_path, now)
                sent += 1
        return sent
