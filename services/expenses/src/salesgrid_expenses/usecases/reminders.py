"""Approvers who let a claim wait are reminded (approval.step_reminded, for the inbox)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesgrid_common import approval
from salesgrid_expenses import claim_events, models
from salesgrid_expenses.domain.claims import ClaimStatus
from salesgrid_expenses.stores.claims import claim_from_row, step_from_row
from salesgrid_expenses.usecases._support import ExpensesUseCasesBase


class RemindersMixin(ExpensesUseCasesBase):
    async def send_reminders(self, approval_timeout: timedelta = timedelta(hours=24)) -> int:
        """One scheduler run on the service clock: a reminder for each current step that has waited
        `approval_timeout` since its turn began or its last reminder. The mark is written with the
        event, so runs are idempotent and concurrent replicas skip rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            pending = (
                select(models.ApprovalStepRow, models.Claim)
                .join(models.Claim, models.Claim.id == models.ApprovalStepRow.claim_id)
                .where(
                    models.ApprovalStepRow.status == approval.StepStatus.PENDING.value,
                    models.ApprovalStepRow.activated_at.is_not(None),
                    models.Claim.status == ClaimStatus.SUBMITTED.value,
                )
                .with_for_update(of=models.ApprovalStepRow, skip_locked=True)
            )
            for step, claim in (await session.execute(pending)).all():
                if not approval.stored_reminder_due(step, now, approval_timeout):
                    continue
                step.reminded_at = now
                await self._event(
                    session,
                    "approval.step_reminded",
                    claim_events.approval_step(claim_from_row(claim), step_from_row(step)),
                    claim.id,
                    None,
                    claim.org_path,
                    now,
                )
                sent += 1
        return sent
