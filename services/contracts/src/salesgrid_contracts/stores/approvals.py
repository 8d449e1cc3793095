"""The approval store: an org unit's own approval rules (rows of `approval_rules` <-> the domain's
ApprovalRules), a contract's approval flow (the current round's `approval_steps` and the approval
state on the contract's row <-> the domain's ApprovalFlow), and the scheduler's loads of pending
steps and unpaid instalments, locked so replicas skip what another one holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid_common import orgpaths
from salesgrid_common.approval import store_steps, stored_reminder_due
from salesgrid_common.errors import FailedPrecondition
from salesgrid_contracts import models
from salesgrid_contracts.domain import approval
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.contract_records import ContractDetail, ContractRecord, RoundStep
from salesgrid_contracts.stores.contracts import step_of

StepRow = models.ApprovalStepRow


def rules_from_row(stored: models.ApprovalRuleSet) -> approval.ApprovalRules:
    return approval.ApprovalRules(
        stored.org_unit_id,
        tuple(
            approval.ApprovalRule(
                None if t["up_to"] is None else Money(Decimal(t["up_to"]), stored.currency), str(t["role"])
            )
            for t in stored.thresholds
        ),
    )


def rules_to_row(
    rules: approval.ApprovalRules, currency: str, updated_by: str, now: datetime, stored: models.ApprovalRuleSet
) -> None:
    stored.org_unit_id, stored.currency = rules.org_unit_id, currency
    stored.thresholds = [
        {"up_to": None if r.up_to is None else str(r.up_to.amount), "role": r.role} for r in rules.rules
    ]
    stored.updated_by, stored.updated_at = updated_by, now


async def own_rules(session: AsyncSession, org_unit_id: str) -> approval.ApprovalRules | None:
    """The unit's own rules, None when it has none."""
    stored = await session.get(models.ApprovalRuleSet, org_unit_id)
    return rules_from_row(stored) if stored else None


async def save_rules(
    session: AsyncSession, rules: approval.ApprovalRules, currency: str, updated_by: str, now: datetime
) -> None:
    """The unit's own rules, added or replaced."""
    stored = await session.get(models.ApprovalRuleSet, rules.org_unit_id)
    if stored is None:
        stored = models.ApprovalRuleSet()
        session.add(stored)
    rules_to_row(rules, currency, updated_by, now, stored)


async def rules_on_path(session: AsyncSession, org_path: str, currency: str) -> approval.ApprovalRules:
    """The rules of the nearest unit on the org path (own unit first) that has its own, in one query."""
    path = orgpaths.units_nearest_first(org_path)
    stored = await session.scalars(select(models.ApprovalRuleSet).where(models.ApprovalRuleSet.org_unit_id.in_(path)))
    return approval.rules_for_unit(path, {r.org_unit_id: rules_from_row(r) for r in stored}, currency)


def round_step(row: StepRow, contract: models.Contract) -> RoundStep:
    return RoundStep(contract.id, contract.number, contract.org_path, row.kind, row.round, step_of(row))


def flow_of(detail: ContractDetail) -> approval.ApprovalFlow:
    """The flow under way on the contract (its current round's steps)."""
    if detail.record.approval_kind is None or detail.approval_started_at is None:
        raise FailedPrecondition("this contract has no approval under way", "status")
    return approval.ApprovalFlow(detail.steps, approval.FlowStatus.PENDING, detail.approval_started_at)


def start(
    session: AsyncSession, row: models.Contract, kind: str, flow: approval.ApprovalFlow, now: datetime
) -> list[StepRow]:
    """A new round of approval of `kind` on the contract: its steps as stored, in order."""
    row.approval_kind, row.approval_round, row.approval_started_at = kind, row.approval_round + 1, now
    stored = [
        StepRow(
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
    return stored


def end(row: models.Contract) -> None:
    """No approval under way any more (the round's steps stay as they were decided)."""
    row.approval_kind = None


async def start_round(
    session: AsyncSession, record: ContractRecord, kind: str, flow: approval.ApprovalFlow, now: datetime
) -> tuple[ContractRecord, list[RoundStep]]:
    """`start` on the record's contract (loaded in this transaction): the record with the
    approval under way, and the round's steps."""
    row = await session.get(models.Contract, record.contract_id)
    assert row is not None
    stored = start(session, row, kind, flow, now)
    return replace(record, approval_kind=kind), [round_step(s, row) for s in stored]


async def save_round(
    session: AsyncSession, contract_id: str, flow: approval.ApprovalFlow
) -> list[tuple[RoundStep, str]]:
    """The flow's steps onto the current round's rows (the contract loaded locked in this
    transaction); what happened to which step, in step order ("approved" | "rejected" for the step
    decided, "activated" for the one whose turn began), each as recorded."""
    row = await session.get(models.Contract, contract_id)
    assert row is not None
    stored = await session.scalars(
        select(StepRow).where(StepRow.contract_id == contract_id, StepRow.round == row.approval_round)
    )
    changed = store_steps(flow, {s.step_order: s for s in stored})
    return [(round_step(step, row), verb) for step, verb in changed]


async def end_round(session: AsyncSession, record: ContractRecord) -> ContractRecord:
    """`end` on the record's contract."""
    row = await session.get(models.Contract, record.contract_id)
    assert row is not None
    end(row)
    return replace(record, approval_kind=None)


async def due_reminders(session: AsyncSession, now: datetime, timeout: timedelta) -> list[RoundStep]:
    """The pending steps whose approver is due a reminder (see `pending_steps`), marked as
    reminded now."""
    due = []
    for step, row in await pending_steps(session):
        if stored_reminder_due(step, now, timeout):
            step.reminded_at = now
            due.append(round_step(step, row))
    return due


async def pending_steps(session: AsyncSession) -> Sequence[tuple[StepRow, models.Contract]]:
    """Every activated, undecided step of a round under way, with its contract; the steps are
    locked (rows another replica holds are skipped)."""
    stmt = (
        select(StepRow, models.Contract)
        .join(models.Contract, models.Contract.id == StepRow.contract_id)
        .where(
            StepRow.status == "pending",
            StepRow.activated_at.is_not(None),
            StepRow.round == models.Contract.approval_round,
            models.Contract.approval_kind.is_not(None),
        )
        .with_for_update(of=StepRow, skip_locked=True)
    )
    return (await session.execute(stmt)).tuples().all()
