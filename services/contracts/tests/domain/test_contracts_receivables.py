from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from contracts_builders import cny
from salesgrid_contracts.domain.errors import ValidationFailed
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.receivables import (
    AgeingBucket,
    GroupBy,
    InstalmentRow,
    ageing_bucket,
    ageing_report,
    days_past_due,
    outstanding_by,
    reminders_due,
)

AS_OF = date(2026, 6, 30)


def row(
    contract: str,
    customer: str,
    owner: str,
    due: date,
    amount: str,
    paid: str = "0",
    currency: str = "CNY",
    reminded: date | None = None,
    seq: int = 1,
) -> InstalmentRow:
    return InstalmentRow(
        contract, customer, owner, seq, due, Money(Decimal(amount), currency), Money(Decimal(paid), currency), reminded
    )


ROWS = [
    row("c-1", "cust-1", "rep-1", date(2026, 7, 1), "1000"),  # not due
    row("c-1", "cust-1", "rep-1", date(2026, 6, 1), "1000", "400", seq=2),  # 29 days
    row("c-2", "cust-1", "rep-2", date(2026, 3, 1), "500"),  # 121 days
    row("c-3", "cust-2", "rep-1", date(2026, 5, 1), "300", "300"),  # fully paid
    row("c-4", "cust-2", "rep-1", date(2026, 4, 15), "70", currency="USD"),  # 76 days
]


def test_outstanding_by_contract_customer_and_owner() -> None:
    assert outstanding_by(ROWS, GroupBy.CONTRACT) == {
        "c-1": {"CNY": cny("1600")},
        "c-2": {"CNY": cny("500")},
        "c-4": {"USD": Money(Decimal(70), "USD")},
    }
    assert outstanding_by(ROWS, GroupBy.CUSTOMER) == {
        "cust-1": {"CNY": cny("2100")},
        "cust-2": {"USD": Money(Decimal(70), "USD")},
    }
    assert outstanding_by(ROWS, GroupBy.OWNER) == {
        "rep-1": {"CNY": cny("1600"), "USD": Money(Decimal(70), "USD")},
        "rep-2": {"CNY": cny("500")},
    }


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, AgeingBucket.NOT_DUE),
        (0, AgeingBucket.NOT_DUE),
        (1, AgeingBucket.DAYS_1_30),
        (30, AgeingBucket.DAYS_1_30),
        (31, AgeingBucket.DAYS_31_60),
        (60, AgeingBucket.DAYS_31_60),
        (61, AgeingBucket.DAYS_61_90),
        (90, AgeingBucket.DAYS_61_90),
        (91, AgeingBucket.OVER_90),
    ],
)
def test_bucket_boundaries(days: int, bucket: AgeingBucket) -> None:
    due = AS_OF - timedelta(days=days)
    assert ageing_bucket(due, AS_OF) is bucket
    assert days_past_due(due, AS_OF) == max(0, days)


def test_ageing_report_totals_per_currency() -> None:
    lines = ageing_report(ROWS, AS_OF)
    assert [(l.key, l.currency) for l in lines] == [(None, "CNY"), (None, "USD")]
    cny_line = lines[0]
    assert dict(cny_line.buckets) == {
        AgeingBucket.NOT_DUE: cny("1000"),
        AgeingBucket.DAYS_1_30: cny("600"),
        AgeingBucket.DAYS_31_60: cny("0"),
        AgeingBucket.DAYS_61_90: cny("0"),
        AgeingBucket.OVER_90: cny("500"),
    }
    assert cny_line.total == cny("2100")
    assert lines[1].buckets[AgeingBucket.DAYS_61_90] == Money(Decimal(70), "USD")


def test_ageing_report_grouped_by_owner() -> None:
    lines = ageing_report(ROWS, AS_OF, GroupBy.OWNER)
    assert [(l.key, l.currency, l.total.amount) for l in lines] == [
        ("rep-1", "CNY", Decimal("1600.00")),
        ("rep-1", "USD", Decimal("70.00")),
        ("rep-2", "CNY", Decimal("500.00")),
    ]


def test_ageing_needs_a_date() -> None:
    with pytest.raises(ValidationFailed) as info:
        ageing_report(ROWS, "2026-06-30")  # type: ignore[arg-type]
    assert info.value.field == "as_of"


def test_reminders_for_overdue_unpaid_instalments_only() -> None:
    due = reminders_due(ROWS, AS_OF)
    assert [(r.contract_id, r.instalment_seq) for r in due] == [("c-1", 2), ("c-2", 1), ("c-4", 1)]


def test_reminders_are_idempotent_given_the_last_reminded_date() -> None:
    overdue = row("c-1", "cust", "rep", date(2026, 6, 1), "100")
    reminded_today = row("c-1", "cust", "rep", date(2026, 6, 1), "100", reminded=AS_OF)
    reminded_a_week_ago = row("c-1", "cust", "rep", date(2026, 6, 1), "100", reminded=AS_OF - timedelta(days=7))
    reminded_six_days_ago = row("c-1", "cust", "rep", date(2026, 6, 1), "100", reminded=AS_OF - timedelta(days=6))
    reminded_before_due = row("c-1", "cust", "rep", date(2026, 6, 28), "100", reminded=date(2026, 6, 27))
    assert reminders_due([overdue], AS_OF) == [overdue]
    assert reminders_due([reminded_today], AS_OF) == []
    assert reminders_due([reminded_six_days_ago], AS_OF) == []
    assert reminders_due([reminded_a_week_ago], AS_OF) == [reminded_a_week_ago]
    assert reminders_due([reminded_before_due], AS_OF) == [reminded_before_due]
    assert reminders_due([reminded_six_days_ago], AS_OF, every_days=3) == [reminded_six_days_ago]


def test_not_overdue_on_the_due_date_itself() -> None:
    assert reminders_due([row("c", "c", "r", AS_OF, "1")], AS_OF) == []


def test_reminder_interval_must_be_positive() -> None:
    with pytest.raises(ValidationFailed) as info:
        reminders_due(ROWS, AS_OF, every_days=0)
    assert info.value.field == "every_days"


def test_outstanding_and_ageing_grouped_by_unit() -> None:
    rows = [replace(r, org_unit_id="team-a" if r.owner_id == "rep-1" else "team-b") for r in ROWS]
    assert outstanding_by(rows, GroupBy.UNIT) == {
        "team-a": {"CNY": cny("1600"), "USD": Money(Decimal(70), "USD")},
        "team-b": {"CNY": cny("500")},
    }
    lines = ageing_report(rows, AS_OF, GroupBy.UNIT)
    assert [(line.key, line.currency, line.total) for line in lines] == [
        ("team-a", "CNY", cny("1600")),
        ("team-a", "USD", Money(Decimal(70), "USD")),
        ("team-b", "CNY", cny("500")),
    ]
    assert lines[2].buckets[AgeingBucket.OVER_90] == cny("500")
