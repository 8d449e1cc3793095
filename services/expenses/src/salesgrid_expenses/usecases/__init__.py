"""The expenses use cases, one object for the servicer: one mixin per topic (claims, approval,
policy, reminders), the shared helpers in _support."""

from __future__ import annotations

from salesgrid_expenses.usecases._support import (
    APPROVE,
    CREATE,
    PAY,
    READ,
    UPDATE,
    ExpensesUseCasesBase,
)
from salesgrid_expenses.stores.claims import ClaimView
from salesgrid_expenses.usecases.approval import ApprovalMixin
from salesgrid_expenses.usecases.claims import ClaimsMixin
from salesgrid_expenses.usecases.policy import PolicyMixin, policy_in_force
from salesgrid_expenses.usecases.reminders import RemindersMixin


class ExpensesUseCases(ClaimsMixin, ApprovalMixin, PolicyMixin, RemindersMixin):
    pass


__all__ = [
    "APPROVE",
    "CREATE",
    "PAY",
    "READ",
    "UPDATE",
    "ApprovalMixin",
    "ClaimView",
    "ClaimsMixin",
    "ExpensesUseCasesBase",
    "ExpensesUseCases",
    "PolicyMixin",
    "RemindersMixin",
    "policy_in_force",
]
