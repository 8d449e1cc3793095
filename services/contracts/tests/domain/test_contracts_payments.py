from datetime import date, timedelta
from decimal import Decimal

import pytest
from contracts_builders import START, cny, draft, signed_contract
from hypothesis import given, settings
from hypothesis import strategies as st
from salesgrid_contracts.domain.contracts import (
    activate,
    approve,
    approve_termination,
    complete,
    request_termination,
    submit_for_approval,
)
from salesgrid_contracts.domain.errors import (
    Conflict,
    FailedPrecondition,
    ValidationFailed,
)
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.payments import (
    Instalment,
    Invoice,
    InvoiceStatus,
    PaymentMethod,
    Receipt,
    Refund,
    build_payment_plan,
    invoiced_total,
    issue_invoice,
    net_collected,
    record_receipt,
    record_refund,
    void_invoice,
)
from salesgrid_contracts.domain.settlement import Allocation, InstalmentStatus, settle

TODAY = date(2026, 6, 1)
TOTAL = cny("100000.00")


def plan() -> tuple[Instalment, ...]:
    return build_payment_plan(
        TOTAL,
        START,
        [(date(2026, 4, 1), cny("30000")), (date(2026, 7, 1), cny("30000")), (date(2026, 10, 1), cny("40000"))],
    )


def receipt(receipt_id: str, on: date, amount: str) -> Receipt:
    return Receipt(receipt_id, on, cny(amount), PaymentMethod.BANK_TRANSFER, "ref")


def refund(refund_id: str, on: date, amount: str) -> Refund:
    return Refund(refund_id, on, cny(amount), "goodwill")


# --- payment plan -----------------------------------------------------------------------------


def test_plan_numbers_instalments_in_order() -> None:
    assert [(i.seq, i.amount) for i in plan()] == [(1, cny("30000")), (2, cny("30000")), (3, cny("40000"))]


@pytest.mark.parametrize(
    ("amounts", "message"),
    [
        (["30000", "30000", "30000"], "10000.00 CNY short of the contract total 100000.00 CNY"),
        (["30000", "30000", "40000.01"], "0.01 CNY over the contract total"),
    ],
)
def test_plan_must_sum_exactly_to_the_total_naming_the_difference(amounts: list[str], message: str) -> None:
    dates = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    with pytest.raises(ValidationFailed, match=message) as info:
        build_payment_plan(TOTAL, START, list(zip(dates, map(cny, amounts))))
    assert info.value.field == "instalments"


def test_plan_due_dates_in_order_and_not_before_start() -> None:
    with pytest.raises(ValidationFailed) as info:
        build_payment_plan(
            TOTAL,
            START,
            [(date(2026, 3, 31), cny("50000")), (date(2026, 6, 1), cny("25000")), (date(2026, 5, 1), cny("25000"))],
        )
    assert info.value.violations == [
        ("instalments[0].due_date", "must not be before the contract start 2026-04-01"),
        ("instalments[2].due_date", "due dates must be in order"),
    ]


def test_plan_amounts_positive_and_in_contract_currency() -> None:
    with pytest.raises(ValidationFailed) as info:
        build_payment_plan(TOTAL, START, [(START, cny("0")), (START, Money(Decimal(1), "USD")), (START, cny("100000"))])
    assert [f for f, _ in info.value.violations] == ["instalments[0].amount", "instalments[1].amount"]


def test_plan_needs_instalments_and_real_dates() -> None:
    with pytest.raises(ValidationFailed) as info:
        build_payment_plan(TOTAL, START, [])
    assert info.value.field == "instalments"
    with pytest.raises(ValidationFailed) as info:
        build_payment_plan(TOTAL, START, [("2026-04-01", TOTAL)])  # type: ignore[list-item]
    assert info.value.field == "instalments[0].due_date"


# --- receipts and refunds ---------------------------------------------------------------------


def test_receipt_on_signed_or_active_contract() -> None:
    contract = signed_contract()
    made = record_receipt(
        contract, receipt_id="r-1", received_on=TODAY, amount=cny("500"), method="cash", reference=" ABC ", today=TODAY
    )
    assert (made.method, made.reference) == (PaymentMethod.CASH, "ABC")
    record_receipt(
        activate(contract, START),
        receipt_id="r-2",
        received_on=TODAY,
        amount=cny("1"),
        method="bank_transfer",
        today=TODAY,
    )


@pytest.mark.parametrize("make", [draft, lambda: approve(submit_for_approval(draft()))])
def test_receipts_only_on_signed_or_active_contracts(make) -> None:
    with pytest.raises(FailedPrecondition) as info:
        record_receipt(make(), receipt_id="r-1", received_on=TODAY, amount=cny("1"), method="cash", today=TODAY)
    assert info.value.field == "status"


def test_receipt_validation_names_each_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        record_receipt(
            signed_contract(),
            receipt_id="r-1",
            received_on=TODAY + timedelta(days=1),
            amount=cny("0"),
            method="bitcoin",
            reference="x" * 101,
            today=TODAY,
        )
    assert [f for f, _ in info.value.violations] == ["amount", "received_on", "method", "reference"]
    with pytest.raises(ValidationFailed) as info:
        record_receipt(
            signed_contract(),
            receipt_id="r-1",
            received_on=TODAY,
            amount=Money(Decimal(5), "USD"),
            method="cash",
            today=TODAY,
        )
    assert info.value.field == "amount"


def test_refund_cannot_exceed_what_was_collected_net() -> None:
    contract = signed_contract()
    receipts = [receipt("r-1", TODAY, "1000")]
    refunds = [refund("f-1", TODAY, "600")]
    assert net_collected(receipts, refunds, "CNY") == cny("400")
    made = record_refund(
        contract,
        refund_id="f-2",
        refunded_on=TODAY,
        amount=cny("400"),
        reason="dup",
        receipts=receipts,
        refunds=refunds,
        today=TODAY,
    )
    assert made.amount == cny("400")
    with pytest.raises(ValidationFailed, match="400.00 CNY collected") as info:
        record_refund(
            contract,
            refund_id="f-2",
            refunded_on=TODAY,
            amount=cny("400.01"),
            reason="dup",
            receipts=receipts,
            refunds=refunds,
            today=TODAY,
        )
    assert info.value.field == "amount"


def test_refund_allowed_after_termination_but_not_on_a_draft() -> None:
    terminated = approve_termination(
        request_termination(signed_contract(), reason="x", requested_by="u", now=draft().created_at), draft().created_at
    )
    record_refund(
        terminated,
        refund_id="f-1",
        refunded_on=TODAY,
        amount=cny("1"),
        reason="back",
        receipts=[receipt("r-1", TODAY, "1")],
        refunds=[],
        today=TODAY,
    )
    with pytest.raises(FailedPrecondition):
        record_refund(
            draft(),
            refund_id="f-1",
            refunded_on=TODAY,
            amount=cny("1"),
            reason="back",
            receipts=[],
            refunds=[],
            today=TODAY,
        )


# --- allocation -------------------------------------------------------------------------------


def test_receipts_pay_oldest_instalments_first_with_partial_payments() -> None:
    result = settle(plan(), [receipt("r-1", date(2026, 4, 2), "45000")], [], "CNY")
    assert [(b.paid, b.status) for b in result.balances] == [
        (cny("30000"), InstalmentStatus.PAID),
        (cny("15000"), InstalmentStatus.PARTIALLY_PAID),
        (cny("0"), InstalmentStatus.UNPAID),
    ]
    assert result.allocations == (Allocation("r-1", 1, cny("30000")), Allocation("r-1", 2, cny("15000")))
    assert result.outstanding == cny("55000") and result.credit == cny("0")


def test_overpayment_is_kept_as_credit() -> None:
    result = settle(plan(), [receipt("r-1", TODAY, "60000"), receipt("r-2", TODAY, "45000")], [], "CNY")
    assert all(b.status is InstalmentStatus.PAID for b in result.balances)
    assert result.credit == cny("5000")
    assert result.allocations[-1] == Allocation("r-2", None, cny("5000"))


def test_refund_takes_back_credit_first_then_the_latest_instalment() -> None:
    receipts = [receipt("r-1", date(2026, 4, 1), "105000")]
    result = settle(plan(), receipts, [refund("f-1", date(2026, 5, 1), "15000")], "CNY")
    assert result.credit == cny("0")
    assert [b.paid for b in result.balances] == [cny("30000"), cny("30000"), cny("30000")]
    assert result.allocations[-2:] == (Allocation("f-1", None, cny("-5000")), Allocation("f-1", 3, cny("-10000")))


def test_receipts_are_replayed_in_date_order() -> None:
    later, earlier = receipt("r-b", date(2026, 5, 1), "10"), receipt("r-a", date(2026, 4, 1), "20")
    assert [a.source_id for a in settle(plan(), [later, earlier], [], "CNY").allocations] == ["r-a", "r-b"]


def test_settle_refuses_a_refund_larger_than_collected_at_that_time() -> None:
    with pytest.raises(ValidationFailed) as info:
        settle(plan(), [receipt("r-1", date(2026, 5, 2), "100")], [refund("f-1", date(2026, 5, 1), "50")], "CNY")
    assert info.value.field == "refunds"


@settings(max_examples=60)
@given(
    st.lists(st.integers(min_value=1, max_value=60_000_00), min_size=0, max_size=6),
    st.lists(st.integers(min_value=1, max_value=20_000_00), min_size=0, max_size=3),
)
def test_settlement_conserves_money(receipt_cents: list[int], refund_cents: list[int]) -> None:
    receipts = [
        Receipt(f"r{i}", date(2026, 4, 1), Money(Decimal(c) / 100, "CNY"), PaymentMethod.CASH, "")
        for i, c in enumerate(receipt_cents)
    ]
    collected = sum(receipt_cents)
    refunds, refunded = [], 0
    for i, c in enumerate(refund_cents):
        if refunded + c <= collected:
            refunds.append(Refund(f"f{i}", date(2026, 5, 1), Money(Decimal(c) / 100, "CNY"), "x"))
            refunded += c
    result = settle(plan(), receipts, refunds, "CNY")
    paid = sum((b.paid.amount for b in result.balances), Decimal(0))
    assert paid + result.credit.amount == Decimal(collected - refunded) / 100
    assert all(Decimal(0) <= b.paid.amount <= b.amount.amount for b in result.balances)
    # Oldest first: a later instalment is never paid while an earlier one is short.
    for earlier, later in zip(result.balances, result.balances[1:]):
        assert later.paid.is_zero or earlier.status is InstalmentStatus.PAID
    assert result.credit.is_zero or all(b.status is InstalmentStatus.PAID for b in result.balances)


# --- invoices ---------------------------------------------------------------------------------


def test_invoiced_total_cannot_exceed_the_contract_total() -> None:
    contract = signed_contract()
    first = issue_invoice(contract, [], number="INV-1", amount=cny("60000"), issued_on=TODAY, today=TODAY)
    second = issue_invoice(contract, [first], number="INV-2", amount=cny("40000"), issued_on=TODAY, today=TODAY)
    assert invoiced_total([first, second], "CNY") == TOTAL
    with pytest.raises(ValidationFailed, match="0.01 CNY above the contract total") as info:
        issue_invoice(contract, [first, second], number="INV-3", amount=cny("0.01"), issued_on=TODAY, today=TODAY)
    assert info.value.field == "amount"


def test_void_invoices_do_not_count() -> None:
    contract = signed_contract()
    voided = void_invoice(Invoice("INV-1", TOTAL, TODAY))
    assert voided.status is InvoiceStatus.VOID
    issue_invoice(contract, [voided], number="INV-2", amount=TOTAL, issued_on=TODAY, today=TODAY)
    with pytest.raises(FailedPrecondition):
        void_invoice(voided)


def test_invoice_numbers_are_unique() -> None:
    existing = [Invoice("INV-1", cny("1"), TODAY)]
    with pytest.raises(Conflict) as info:
        issue_invoice(signed_contract(), existing, number="INV-1", amount=cny("1"), issued_on=TODAY, today=TODAY)
    assert info.value.field == "number"


def test_invoice_rules_on_status_and_input() -> None:
    with pytest.raises(FailedPrecondition):
        issue_invoice(draft(), [], number="INV-1", amount=cny("1"), issued_on=TODAY, today=TODAY)
    completed = complete(activate(signed_contract(), START))
    issue_invoice(completed, [], number="INV-1", amount=cny("1"), issued_on=TODAY, today=TODAY)
    with pytest.raises(ValidationFailed) as info:
        issue_invoice(
            signed_contract(), [], number="INV-1", amount=cny("-1"), issued_on=TODAY + timedelta(days=1), today=TODAY
        )
    assert [f for f, _ in info.value.violations] == ["amount", "issued_on"]
