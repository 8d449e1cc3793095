"""Expense claims in the inbox, as plain Python: the approver is asked (and reminded), the
claimant learns the outcome (with the reason of a rejection)."""

from __future__ import annotations

from salesgrid_activities.domain import inbox


def test_expense_approvals_reach_the_approver_and_outcomes_the_claimant() -> None:
    asked = inbox.expense_approval("claim-1", "sup-1", "rep-a", "430.05", "CNY", reminder=False)
    assert (asked.kind, asked.recipients, asked.record_type, asked.record_id, asked.subject_owner_id) == (
        "expense_approval",
        ("sup-1",),
        "expense_claim",
        "claim-1",
        "rep-a",
    )
    assert asked.title == "Expense claim of 430.05 CNY awaits your approval"
    reminded = inbox.expense_approval("claim-1", "sup-1", "rep-a", "430.05", "CNY", reminder=True)
    assert reminded.title.startswith("Reminder: ") and reminded.recipients == ("sup-1",)
    rejected = inbox.expense_settled("claim-1", "rejected", "430.05", "CNY", "rep-a", "no receipt date")
    assert (rejected.kind, rejected.recipients, rejected.title) == (
        "expense_settled",
        ("rep-a",),
        "Your expense claim of 430.05 CNY was rejected: no receipt date",
    )
    assert inbox.expense_settled("claim-1", "paid", "430.05", "CNY", "rep-a", "").title.endswith("was paid")
