"""The claim's own steps: submitted, decided, paid."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from salesgrid_expenses.domain.claims import ClaimStatus, ExpenseClaim

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DRAFT = ExpenseClaim("x", "rep", "sz", "/c/sz/", "trip", "CNY", Decimal("10"), ClaimStatus.DRAFT, NOW)


def test_submitting_starts_the_approval_now() -> None:
    claim = DRAFT.submitted(NOW)
    assert (claim.status, claim.submitted_at, claim.approval_started_at) == (ClaimStatus.SUBMITTED, NOW, NOW)


def test_a_decision_settles_approved_or_rejected() -> None:
    assert DRAFT.decided(True, NOW).status is ClaimStatus.APPROVED
    rejected = DRAFT.decided(False, NOW)
    assert (rejected.status, rejected.decided_at) == (ClaimStatus.REJECTED, NOW)


def test_payment_records_the_day_and_the_trimmed_reference() -> None:
    paid = DRAFT.paid(date(2026, 3, 5), "  PAY-7 ")
    assert (paid.status, paid.paid_on, paid.payment_reference) == (ClaimStatus.PAID, date(2026, 3, 5), "PAY-7")
