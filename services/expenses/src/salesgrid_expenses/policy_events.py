"""The payload of the expense policy's event, built from the domain ExpensePolicy in this one place."""

from __future__ import annotations

from salesgrid.events.v1.expenses_events_pb2 import ExpensesPolicySet
from salesgrid_expenses.domain.policy import ExpensePolicy


def policy_set(policy: ExpensePolicy) -> ExpensesPolicySet:
    """A unit's own policy was set (how many categories it limits)."""
    return ExpensesPolicySet(org_unit_id=policy.org_unit_id, currency=policy.currency, limits=len(policy.daily_limits))
