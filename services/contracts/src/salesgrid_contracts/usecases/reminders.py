"""The scheduler's reminders: approvers whose turn has waited too long, and unpaid instalments past
their due date in their branch's calendar."""

from __future__ import annotations

from datetime import timedelta

from salesgrid_common.localtime import UnitCalendars
from salesgrid_contracts.payloads import instalment_overdue
from salesgrid_contracts.stores import approvals as approval_store
from salesgrid_contracts.stores import payments as payment_store
from salesgrid_contracts.usecases._support import ContractsUseCasesBase

APPROVAL_REMINDER_AFTER = timedelta(hours=24)  # a pending step reminds its approver after this wait


class RemindersMixin(ContractsUseCasesBase):
    """ContractsUseCases: reminders."""

    async def send_reminders(self, approval_timeout: timedelta = APPROVAL_REMINDER_AFTER) -> int:
        """One scheduler run on the service clock: approval.step_reminded for each pending step that
        has waited `approval_timeout` since its turn (or its last reminder), instalment.overdue once
        per unpaid instalment past its due date. Marks are written with the events, so runs are
        idempotent and concurrent replicas skip rows another one holds."""
        now = self.clock()
        sent = 0
        async with self.sessions() as session, session.begin():
            for step in await approval_store.due_reminders(session, now, approval_timeout):
                await self._step_event(session, "reminded", step, None, now)
                sent += 1
            calendars = UnitCalendars(session)
            for due in await payment_store.unreminded_overdue(session, now):
                if due.balance.outstanding.amount <= 0:
                    continue
                if due.balance.due_date >= (await calendars.of_unit(due.org_unit_id)).today(now):
                    continue
                await payment_store.mark_overdue_reminded(session, due, now)
                payload = instalment_overdue(due)
                await self._event(session, "instalment.overdue", payload, due.contract_id, None, due.org_path, now)
                sent += 1
        return sent
