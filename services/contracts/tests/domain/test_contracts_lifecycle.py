from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from contracts_builders import END, NOW, START, cny, draft, line, product, signed_contract
from salesgrid_contracts.domain.amendments import amend, apply_amendment
from salesgrid_contracts.domain.contracts import (
    TRANSITIONS,
    ContractAction,
    ContractStatus,
    activate,
    approve,
    approve_termination,
    complete,
    line_total,
    new_contract,
    new_line,
    next_status,
    reject,
    reject_termination,
    request_termination,
    revise_draft,
    sign,
    submit_for_approval,
)
from salesgrid_contracts.domain.errors import FailedPrecondition, ValidationFailed
from salesgrid_contracts.domain.money import Money

S = ContractStatus


def active_contract():
    return activate(signed_contract(), START)


# --- lines and totals -------------------------------------------------------------------------


def test_line_total_applies_quantity_and_discount_then_rounds_half_up() -> None:
    assert line("1000.00", 3, "10").total == cny("2700.00")
    assert line_total(Decimal(1), cny("0.15"), Decimal(50)) == cny("0.08")  # 0.075 -> 0.08
    assert line("99.99", "2.5", 0).total == cny("249.98")  # 249.975 -> 249.98
    assert line("500.00", 1, 100).total == cny("0.00")


def test_contract_total_is_the_sum_of_rounded_line_totals() -> None:
    contract = draft(line("0.15", 1, 50), line("0.15", 1, 50))
    assert contract.total == cny("0.16")  # each line rounds to 0.08, not 0.15 rounded once


@pytest.mark.parametrize(
    ("quantity", "discount", "fields"),
    [
        (0, 0, ["line.quantity"]),
        (-1, 0, ["line.quantity"]),
        (1, -1, ["line.discount_percent"]),
        (1, 101, ["line.discount_percent"]),
        (0, 150, ["line.quantity", "line.discount_percent"]),
    ],
)
def test_line_rejects_bad_quantity_and_discount(quantity: int, discount: int, fields: list[str]) -> None:
    with pytest.raises(ValidationFailed) as info:
        new_line(product(), cny("10.00"), Decimal(quantity), Decimal(discount))
    assert [f for f, _ in info.value.violations] == fields


def test_line_refuses_float_quantity_and_negative_price() -> None:
    with pytest.raises(ValidationFailed) as info:
        new_line(product(), cny("-1.00"), 1.5, field="lines[3]")  # type: ignore[arg-type]
    assert [f for f, _ in info.value.violations] == ["lines[3].quantity", "lines[3].unit_price"]


def test_inactive_product_cannot_be_put_on_a_line() -> None:
    with pytest.raises(FailedPrecondition) as info:
        new_line(product(active=False), cny("10.00"), 1, field="lines[0]")
    assert info.value.field == "lines[0].product_id"


def test_line_description_defaults_to_the_product_name() -> None:
    assert line().description == "CRM licence"


# --- creating and editing ---------------------------------------------------------------------


def test_new_contract_is_a_draft_version_one() -> None:
    contract = draft()
    assert (contract.status, contract.version, contract.previous_version) == (S.DRAFT, 1, None)
    assert contract.total == cny("100000.00")


def test_start_must_not_be_after_end() -> None:
    with pytest.raises(ValidationFailed) as info:
        revise_draft(draft(), start_date=date(2027, 4, 1))
    assert info.value.field == "end_date"
    assert revise_draft(draft(), start_date=END).start_date == END  # same day is fine


def test_new_contract_reports_all_violations() -> None:
    with pytest.raises(ValidationFailed) as info:
        new_contract(
            contract_id="c-1",
            number="",
            customer_id="cust",
            owner_id="",
            org_unit_id="u",
            currency="CNY",
            start_date=date(2026, 5, 1),
            end_date=date(2026, 4, 1),
            lines=[new_line(product(), Money(Decimal(1), "USD"), 1)],
            now=datetime(2026, 1, 1),
        )
    assert [f for f, _ in info.value.violations] == ["number", "owner_id", "end_date", "lines[0].unit_price", "now"]


def test_unknown_currency_is_reported() -> None:
    with pytest.raises(ValidationFailed) as info:
        draft(currency="ABC")
    assert info.value.field == "currency"


def test_only_drafts_can_be_edited() -> None:
    pending = submit_for_approval(draft())
    with pytest.raises(FailedPrecondition) as info:
        revise_draft(pending, terms="new terms")
    assert info.value.field == "status"


# --- state machine ----------------------------------------------------------------------------


def test_happy_path_through_every_state() -> None:
    contract = draft()
    contract = submit_for_approval(contract)
    assert contract.status is S.PENDING_APPROVAL
    contract = approve(contract)
    assert contract.status is S.APPROVED
    contract = sign(contract, date(2026, 3, 5))
    assert (contract.status, contract.signed_on) == (S.SIGNED, date(2026, 3, 5))
    contract = activate(contract, START)
    assert contract.status is S.ACTIVE
    assert complete(contract).status is S.COMPLETED


def test_rejection_returns_to_draft_for_resubmission() -> None:
    rejected = reject(submit_for_approval(draft()))
    assert rejected.status is S.DRAFT
    assert submit_for_approval(revise_draft(rejected, terms="better")).status is S.PENDING_APPROVAL


def test_transition_table_is_exactly_the_documented_machine() -> None:
    assert {(s.value, a.value, t.value) for (s, a), t in TRANSITIONS.items()} == {
        ("draft", "submit", "pending_approval"),
        ("pending_approval", "approve", "approved"),
        ("pending_approval", "reject", "draft"),
        ("approved", "sign", "signed"),
        ("signed", "activate", "active"),
        ("active", "complete", "completed"),
        ("signed", "terminate", "terminated"),
        ("active", "terminate", "terminated"),
    }


@pytest.mark.parametrize("status", list(ContractStatus))
@pytest.mark.parametrize("action", list(ContractAction))
def test_every_transition_outside_the_table_fails_naming_status(status: S, action: ContractAction) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) is TRANSITIONS[(status, action)]
        return
    with pytest.raises(FailedPrecondition, match=f"cannot {action.value}") as info:
        next_status(status, action)
    assert info.value.field == "status"


def test_cannot_sign_a_draft_or_skip_approval() -> None:
    with pytest.raises(FailedPrecondition, match="cannot sign a contract that is draft"):
        sign(draft(), date(2026, 3, 5))
    with pytest.raises(FailedPrecondition):
        approve(draft())


def test_submission_needs_a_line_and_a_positive_total() -> None:
    with pytest.raises(ValidationFailed, match="at least one line") as info:
        submit_for_approval(revise_draft(draft(), lines=[]))
    assert info.value.field == "lines"
    with pytest.raises(ValidationFailed, match="greater than 0"):
        submit_for_approval(draft(line("100.00", 1, 100)))


def test_signing_date_cannot_precede_creation() -> None:
    approved = approve(submit_for_approval(draft()))
    with pytest.raises(ValidationFailed) as info:
        sign(approved, NOW.date() - timedelta(days=1))
    assert info.value.field == "signed_on"


def test_activation_waits_for_the_start_date() -> None:
    with pytest.raises(FailedPrecondition) as info:
        activate(signed_contract(), START - timedelta(days=1))
    assert info.value.field == "start_date"


# --- termination ------------------------------------------------------------------------------

LATER = NOW + timedelta(days=60)


@pytest.mark.parametrize("make", [signed_contract, active_contract])
def test_termination_after_signing_needs_an_approved_request(make) -> None:
    contract = make()
    requested = request_termination(contract, reason="customer insolvent", requested_by="rep-1", now=LATER)
    assert requested.status is contract.status  # still in force while approval runs
    terminated = approve_termination(requested, LATER)
    assert (terminated.status, terminated.terminated_at) == (S.TERMINATED, LATER)


def test_termination_cannot_be_approved_without_a_request() -> None:
    with pytest.raises(FailedPrecondition) as info:
        approve_termination(active_contract(), LATER)
    assert info.value.field == "termination"


def test_rejected_termination_leaves_the_contract_in_force() -> None:
    requested = request_termination(active_contract(), reason="x", requested_by="rep-1", now=LATER)
    kept = reject_termination(requested)
    assert (kept.status, kept.termination) == (S.ACTIVE, None)


def test_termination_request_rules() -> None:
    with pytest.raises(FailedPrecondition):
        request_termination(draft(), reason="x", requested_by="rep-1", now=LATER)
    requested = request_termination(active_contract(), reason="x", requested_by="rep-1", now=LATER)
    with pytest.raises(FailedPrecondition, match="already pending"):
        request_termination(requested, reason="y", requested_by="rep-1", now=LATER)
    with pytest.raises(ValidationFailed) as info:
        request_termination(active_contract(), reason=" ", requested_by="rep-1", now=LATER)
    assert info.value.field == "reason"


# --- amendments -------------------------------------------------------------------------------


def test_amendment_is_a_new_draft_version_and_keeps_the_old_one() -> None:
    current = active_contract()
    amendment = amend(current, lines=[line("150000.00")], now=LATER)
    assert (amendment.version, amendment.previous_version, amendment.status) == (2, 1, S.DRAFT)
    assert (amendment.contract_id, amendment.number) == (current.contract_id, current.number)
    assert amendment.total == cny("150000.00")
    assert current.total == cny("100000.00") and current.status is S.ACTIVE


def test_amendment_goes_through_approval_then_supersedes_the_old_version() -> None:
    current = active_contract()
    amendment = amend(current, terms="extended support", now=LATER)
    with pytest.raises(FailedPrecondition, match="approved first"):
        apply_amendment(current, amendment)
    approved = approve(submit_for_approval(amendment))
    old, new = apply_amendment(current, approved)
    assert (old.superseded, old.version) == (True, 1)
    assert (new.status, new.version, new.signed_on, new.terms) == (S.ACTIVE, 2, current.signed_on, "extended support")


def test_rejected_amendment_returns_to_draft() -> None:
    amendment = submit_for_approval(amend(active_contract(), terms="x", now=LATER))
    assert reject(amendment).status is S.DRAFT


def test_superseded_version_can_no_longer_change() -> None:
    current = active_contract()
    old, _ = apply_amendment(current, approve(submit_for_approval(amend(current, terms="x", now=LATER))))
    for attempt in (
        lambda: complete(old),
        lambda: amend(old, now=LATER),
        lambda: request_termination(old, reason="x", requested_by="u", now=LATER),
    ):
        with pytest.raises(FailedPrecondition) as info:
            attempt()
        assert info.value.field == "version"


def test_only_contracts_in_force_can_be_amended() -> None:
    with pytest.raises(FailedPrecondition) as info:
        amend(draft(), now=LATER)
    assert info.value.field == "status"
    pending_termination = request_termination(active_contract(), reason="x", requested_by="u", now=LATER)
    with pytest.raises(FailedPrecondition) as info:
        amend(pending_termination, now=LATER)
    assert info.value.field == "termination"


def test_amendment_must_amend_the_version_given() -> None:
    current = active_contract()
    approved = approve(submit_for_approval(amend(current, terms="x", now=LATER)))
    with pytest.raises(FailedPrecondition) as info:
        apply_amendment(replace(current, version=5), approved)
    assert info.value.field == "version"


def test_amendment_validates_its_new_dates() -> None:
    with pytest.raises(ValidationFailed) as info:
        amend(active_contract(), end_date=date(2026, 1, 1), now=LATER)
    assert info.value.field == "end_date"


def test_amendment_cannot_be_signed_directly() -> None:
    approved = approve(submit_for_approval(amend(active_contract(), terms="x", now=LATER)))
    with pytest.raises(FailedPrecondition, match="apply_amendment"):
        sign(approved, date(2026, 5, 1))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        amend(active_contract(), now=datetime(2026, 5, 1))
    assert info.value.field == "now"
    assert amend(active_contract(), now=datetime(2026, 5, 1, tzinfo=UTC)).version == 2
