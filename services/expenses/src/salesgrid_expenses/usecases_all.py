"""The expenses use cases, one object for the servicer."""
from __future__ import annotations

from salesgrid_expenses.usecases_approval import ApprovalUseCases
from salesgrid_expenses.usecases_claims import ClaimsUseCases
from salesgrid_expenses.usecases_policy import PolicyUseCases
from salesgrid_expenses.usecases_reminders import RemindersUseCases


class ExpensesUseCases(ClaimsUseCases, ApprovalUseCases, PolicyUseCases, RemindersUseCases):
    pass
