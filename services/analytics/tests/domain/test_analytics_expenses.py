"""Cost of sale per rep, customer and opportunity, and the expense-to-collection ratio."""

from decimal import Decimal

import pytest
from analytics_factories import REP_A, REP_B, REP_C, SHANGHAI, _base, at
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.expenses import CostBy, ExpensePaid, cost_of_sale, parse_by
from salesgrid_analytics.domain.periods import parse_period

MARCH = parse_period("2026-03")


def paid(owner, when, claim: str, *lines: tuple[str, str, str], currency: str = "CNY") -> ExpensePaid:  # type: ignore[no-untyped-def]
    total = sum((Decimal(amount) for _c, _o, amount in lines), Decimal(0))
    return ExpensePaid(
        **_base(owner, when, None),
        claim_id=claim,
        amount=total,
        currency=currency,
        lines=tuple({"customer_id": c, "opportunity_id": o, "amount": a} for c, o, a in lines),
    )


def receipt(owner, when, amount: str) -> f.ReceiptRecorded:  # type: ignore[no-untyped-def]
    return f.ReceiptRecorded(**_base(owner, when, None), contract_id="k", amount=Decimal(amount), currency="CNY")


FACTS = [
    paid(REP_A, at(2026, 3, 2), "c1", ("cu-1", "o-1", "300.00"), ("cu-1", "", "100.00")),
    paid(REP_A, at(2026, 3, 9), "c2", ("", "", "50.00")),
    paid(REP_B, at(2026, 3, 5), "c3", ("cu-2", "o-2", "200.00")),
    paid(REP_B, at(2026, 4, 1), "c4", ("cu-2", "o-2", "999.00")),  # April: outside the period
    paid(REP_C, at(2026, 3, 5), "c5", ("cu-3", "", "70.00"), currency="USD"),  # another currency
    receipt(REP_A, at(2026, 3, 20), "9000.00"),
]


def view(by: CostBy, **kwargs):  # type: ignore[no-untyped-def]
    return cost_of_sale(FACTS, by=by, period=MARCH, tz=SHANGHAI, currency="CNY", **kwargs)


def test_per_rep_with_the_expense_to_collection_ratio() -> None:
    lines, total = view(CostBy.REP)
    assert [(l.key, l.expenses, l.claims, l.collected, l.ratio) for l in lines] == [
        ("rep-a", Decimal("450.00"), 2, Decimal("9000.00"), Decimal("0.0500")),
        ("rep-b", Decimal("200.00"), 1, Decimal("0.00"), None),
    ]  # nothing collected: no ratio
    assert (total.expenses, total.claims, total.collected, total.ratio) == (
        Decimal("650.00"),
        3,
        Decimal("9000.00"),
        Decimal("0.0722"),
    )


def test_per_customer_and_opportunity_from_the_lines() -> None:
    lines, _ = view(CostBy.CUSTOMER)
    assert [(l.key, l.expenses, l.claims, l.ratio) for l in lines] == [
        ("cu-1", Decimal("400.00"), 1, None),
        ("cu-2", Decimal("200.00"), 1, None),
        ("", Decimal("50.00"), 1, None),
    ]
    lines, _ = view(CostBy.OPPORTUNITY)
    assert [(l.key, l.expenses) for l in lines] == [
        ("o-1", Decimal("300.00")),
        ("o-2", Decimal("200.00")),
        ("", Decimal("150.00")),
    ]


def test_scope_selection_and_bad_grouping() -> None:
    lines, total = view(CostBy.REP, selection=f.Selection("/acme/east/sh/t2"))
    assert [l.key for l in lines] == ["rep-b"] and total.collected == Decimal("0.00")
    assert parse_by("") is CostBy.REP
    with pytest.raises(ValidationFailed) as caught:
        parse_by("region")
    assert caught.value.field == "by"
