"""Expense rules as plain Python: lines, receipts, policies with daily limits, approver roles."""

from datetime import date
from decimal import Decimal

import pytest
from salesgrid_common.errors import FailedPrecondition, ValidationFailed
from salesgrid_expenses.domain import claims, policy, receipts
from salesgrid_expenses.domain.claims import Category, ClaimStatus

TODAY = date(2026, 3, 2)
PDF = b"%PDF-1.7\n..."
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 10


def line(**overrides: str) -> dict[str, str]:
    return {"category": "travel", "spent_on": "2026-03-01", "amount": "120.50", **overrides}


def fields(error: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {field for field, _ in error.value.violations}


def test_lines_are_validated_and_numbered() -> None:
    lines = claims.new_claim_lines([line(), line(category="Communication", amount="30")], "CNY", TODAY)
    assert [(l.line_no, l.category, l.amount) for l in lines] == [
        (1, Category.TRAVEL, Decimal("120.50")),
        (2, Category.COMMUNICATION, Decimal("30.00")),
    ]
    assert claims.total(lines) == Decimal("150.50")


def test_every_bad_field_is_named_by_index() -> None:
    with pytest.raises(ValidationFailed) as caught:
        claims.new_claim_lines(
            [line(), line(category="golf", spent_on="2026-03-03", amount="-1"), line(amount="1.005")], "CNY", TODAY
        )
    assert fields(caught) == {"lines[1].category", "lines[1].spent_on", "lines[1].amount", "lines[2].amount"}


def test_entertainment_names_the_customer_and_links_are_kept() -> None:
    with pytest.raises(ValidationFailed) as caught:
        claims.new_claim_lines([line(category="entertainment")], "CNY", TODAY)
    assert fields(caught) == {"lines[0].customer_id"}
    (kept,) = claims.new_claim_lines(
        [line(category="entertainment", customer_id="c-1", opportunity_id="o-1", visit_id="v-1")], "CNY", TODAY
    )
    assert (kept.customer_id, kept.opportunity_id, kept.visit_id) == ("c-1", "o-1", "v-1")
    # an opportunity brings its customer; naming another customer is refused
    (by_opportunity,) = claims.new_claim_lines([line(category="entertainment", opportunity_id="o-2")], "CNY", TODAY)
    assert claims.link_opportunity(by_opportunity, "c-2").customer_id == "c-2"
    assert claims.link_opportunity(kept, "c-1") == kept
    with pytest.raises(ValidationFailed) as caught:
        claims.link_opportunity(kept, "c-9", "lines[0]")
    assert fields(caught) == {"lines[0].opportunity_id"}


def test_currency_and_minor_units_come_from_the_shared_table() -> None:
    with pytest.raises(ValidationFailed) as caught:
        claims.new_claim_lines([line()], "XXX", TODAY)
    assert caught.value.field == "currency"
    with pytest.raises(ValidationFailed) as caught:
        claims.new_claim_lines([line(amount="100.5")], "JPY", TODAY)  # JPY has no minor unit
    assert fields(caught) == {"lines[0].amount"}
    with pytest.raises(ValidationFailed):
        claims.new_claim_lines([], "CNY", TODAY)


def test_submission_needs_a_draft_with_a_receipt_on_every_line() -> None:
    lines = claims.new_claim_lines([line(), line(amount="5")], "CNY", TODAY)
    with pytest.raises(ValidationFailed) as caught:
        claims.check_submittable(ClaimStatus.DRAFT, lines, {1: 1})
    assert fields(caught) == {"lines[1].receipts"}
    claims.check_submittable(ClaimStatus.DRAFT, lines, {1: 1, 2: 2})
    with pytest.raises(FailedPrecondition):
        claims.check_submittable(ClaimStatus.SUBMITTED, lines, {1: 1, 2: 1})


def test_payment_needs_an_approved_claim_a_day_and_a_reference() -> None:
    assert claims.check_payable(ClaimStatus.APPROVED, "2026-03-05", "BANK-1", date(2026, 3, 4)) == date(2026, 3, 5)
    with pytest.raises(FailedPrecondition):
        claims.check_payable(ClaimStatus.SUBMITTED, "2026-03-05", "BANK-1", date(2026, 3, 4))
    with pytest.raises(ValidationFailed) as caught:
        claims.check_payable(ClaimStatus.APPROVED, "2026-03-01", " ", date(2026, 3, 4))
    assert fields(caught) == {"paid_on", "payment_reference"}


def test_receipts_are_checked_by_type_content_and_size() -> None:
    ok = receipts.check_receipt(1, "taxi.pdf", "application/pdf", PDF)
    assert (ok.content_type, ok.size_bytes, len(ok.sha256)) == ("application/pdf", len(PDF), 64)
    assert receipts.check_receipt(1, "r.png", "image/png", PNG).content_type == "image/png"
    with pytest.raises(ValidationFailed) as caught:
        receipts.check_receipt(1, "evil.exe", "application/x-msdownload", b"MZ...")
    assert fields(caught) == {"content_type"}
    with pytest.raises(ValidationFailed) as caught:  # a renamed file: declared PDF, content PNG
        receipts.check_receipt(1, "fake.pdf", "application/pdf", PNG)
    assert fields(caught) == {"content"}
    with pytest.raises(ValidationFailed) as caught:
        receipts.check_receipt(1, "big.pdf", "application/pdf", b"%PDF-" + b"0" * receipts.MAX_RECEIPT_BYTES)
    assert fields(caught) == {"content"}
    for name in ("../etc/x.pdf", 'a"b.pdf', "a\nb.pdf", ""):
        with pytest.raises(ValidationFailed) as caught:
            receipts.check_receipt(1, name, "application/pdf", PDF)
        assert fields(caught) == {"file_name"}, name
    assert receipts.check_receipt(1, "发票 3月.pdf", "application/pdf", PDF).file_name == "发票 3月.pdf"


def test_receipt_room_on_the_claim() -> None:
    receipts.check_room(1, {1, 2}, 0, "a" * 64, set())
    for args, field in (
        ((3, {1, 2}, 0, "a", set()), "line_no"),
        ((1, {1}, receipts.MAX_RECEIPTS_PER_LINE, "a", set()), "line_no"),
        ((1, {1}, 1, "a", {"a"}), "content"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            receipts.check_room(*args)
        assert caught.value.field == field


def test_policy_is_inherited_from_the_nearest_unit() -> None:
    branch = policy.new_policy("branch", "CNY", [("travel", "500")], "5000")
    company = policy.new_policy("company", "CNY", [("entertainment", "2000")], "")
    found = policy.policy_for_unit(["team", "branch", "company"], {"branch": branch, "company": company})
    assert found is branch
    assert policy.policy_for_unit(["team", "region", "company"], {"branch": branch, "company": company}) is company
    default = policy.policy_for_unit(["team"], {})
    assert (default.org_unit_id, dict(default.daily_limits), default.director_above) == ("", {}, None)


def test_policy_input_is_validated() -> None:
    with pytest.raises(ValidationFailed) as caught:
        policy.new_policy("u", "CNY", [("travel", "0"), ("golf", "1"), ("travel", "2")], "abc")
    assert fields(caught) == {"limits[0].daily_limit", "limits[1].category", "limits[2].category", "director_above"}


def test_daily_limits_count_the_day_across_lines_and_earlier_claims() -> None:
    rules = policy.new_policy("u", "CNY", [("travel", "500"), ("entertainment", "1000")], "")
    lines = claims.new_claim_lines(
        [line(amount="300"), line(amount="200"), line(category="other", amount="9999")], "CNY", TODAY
    )
    policy.check_daily_limits(rules, "CNY", lines, {})  # exactly at the limit; "other" is unlimited
    with pytest.raises(ValidationFailed) as caught:
        policy.check_daily_limits(rules, "CNY", lines, {(date(2026, 3, 1), Category.TRAVEL): Decimal("0.01")})
    assert fields(caught) == {"lines[0].amount"}
    assert (caught.value.reason, caught.value.category) == ("EXPENSE_DAILY_LIMIT", "VALIDATION_FAILED")
    assert caught.value.info == {
        "category": "travel",
        "day": "2026-03-01",
        "spent": "500.01",
        "limit": "500.00",
        "currency": "CNY",
    }
    # another day's travel does not count
    policy.check_daily_limits(rules, "CNY", lines, {(date(2026, 2, 28), Category.TRAVEL): Decimal("400")})
    with pytest.raises(ValidationFailed) as caught:
        policy.check_daily_limits(rules, "USD", claims.new_claim_lines([line()], "USD", TODAY), {})
    assert caught.value.field == "currency"


def test_the_director_approves_above_the_threshold() -> None:
    rules = policy.new_policy("u", "CNY", [], "5000")
    assert policy.approver_roles(rules, Decimal("5000"), "CNY") == ["supervisor"]
    assert policy.approver_roles(rules, Decimal("5000.01"), "CNY") == ["supervisor", "director"]
    assert policy.approver_roles(policy.policy_for_unit([], {}), Decimal("1e9"), "USD") == ["supervisor"]
