"""Approvers who let a claim wait are reminded (approval.step_reminded, for the inbox)."""

from __future__ import annotations

from datetime import timedelta

from salesgrid_expenses import claim_events
from salesgrid_expenses.stores.claims import reminders_due
from salesgrid_expenses.usecases._support import ExpensesUseCasesBase


class RemindersMixin(ExpensesUseCasesBase):
    async def send_reminders(self, approval_timeout: timedelta = timedelta(hours=24)) -> int:
        """One scheduler run on the service clock: a reminder for each current step that has waited
        `approval_timeout` since its turn began or its last reminder. The mark is written with the
        event, so runs are idempotent and concurrent replicas skip rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            for claim, step in await reminders_due(session, now, approval_timeout):
                await self._event(
                    session,
                    "approval.step_reminded",
                    claim_events.approval_step(claim, step),
                    claim.id,
                    None,
                    claim.org_path,
                    now,
                )
                sent += 1
        return sent
