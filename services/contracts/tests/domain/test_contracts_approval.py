from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from contracts_builders import cny
from salesgrid_contracts.domain.approval import (
    ApprovalRule,
    ApprovalRules,
    FlowStatus,
    StepStatus,
    approve_step,
    default_approval_rules,
    mark_reminded,
    reject_step,
    reminder_due,
    required_roles,
    route_approval,
    rules_for_unit,
    start_approval,
)
from salesgrid_contracts.domain.errors import (
    FailedPrecondition,
    PermissionDenied,
    ValidationFailed,
)
from salesgrid_contracts.domain.money import Money

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RULES = default_approval_rules("sh")
# A rep's chain, nearest manager first.
CHAIN = [("sup-1", "supervisor"), ("mgr-1", "manager"), ("dir-1", "director"), ("rh-1", "regional_head")]


def route(amount: str, submitter: str = "rep-1", chain=CHAIN):
    return [(s.role, s.approver_id) for s in route_approval(cny(amount), RULES, submitter, chain)]


# --- thresholds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "roles"),
    [
        ("0.00", ["manager"]),
        ("100000.00", ["manager"]),  # "up to" is inclusive
        ("100000.01", ["manager", "director"]),
        ("500000.00", ["manager", "director"]),
        ("1000000.00", ["manager", "director"]),
        ("1000000.01", ["manager", "director", "regional_head"]),
    ],
)
def test_default_thresholds_add_each_step_in_turn(amount: str, roles: list[str]) -> None:
    assert required_roles(cny(amount), RULES) == roles


def test_thresholds_must_be_in_the_rules_currency() -> None:
    with pytest.raises(ValidationFailed) as info:
        required_roles(Money(Decimal(10), "USD"), RULES)
    assert info.value.field == "amount"


def test_rules_must_ascend_and_end_open() -> None:
    with pytest.raises(ValidationFailed) as info:
        ApprovalRules("u", (ApprovalRule(cny("500"), "director"), ApprovalRule(cny("100"), "manager")))
    messages = dict((m, f) for f, m in info.value.violations)
    assert messages == {
        "only the last rule is open-ended, and it must be": "rules[1].up_to",
        "thresholds must increase": "rules[1].up_to",
        "each step must go further up the hierarchy": "rules[1].role",
    }
    with pytest.raises(ValidationFailed) as info:
        ApprovalRules("u", (ApprovalRule(None, "ceo"),))
    assert info.value.field == "rules[0].role"
    with pytest.raises(ValidationFailed):
        ApprovalRules("u", ())


def test_org_unit_rules_come_from_the_nearest_unit_that_has_some() -> None:
    branch = ApprovalRules("sh", (ApprovalRule(cny("50000"), "manager"), ApprovalRule(None, "director")))
    assert rules_for_unit(["team-1", "sh", "east"], {"sh": branch}) is branch
    assert required_roles(cny("60000"), branch) == ["manager", "director"]
    assert rules_for_unit(["team-9", "bj"], {"sh": branch}) == default_approval_rules("team-9")


# --- routing ----------------------------------------------------------------------------------


def test_small_contract_goes_to_the_manager() -> None:
    assert route("80000") == [("manager", "mgr-1")]


def test_500k_needs_manager_then_director() -> None:
    assert route("500000") == [("manager", "mgr-1"), ("director", "dir-1")]


def test_above_a_million_goes_up_to_the_regional_head() -> None:
    assert route("2000000") == [("manager", "mgr-1"), ("director", "dir-1"), ("regional_head", "rh-1")]


def test_nobody_approves_his_own_contract() -> None:
    # The manager submits: his step goes to the next eligible person up, who then covers director too.
    assert route("80000", submitter="mgr-1") == [("manager", "dir-1")]
    assert route("500000", submitter="mgr-1") == [("director", "dir-1")]
    # Chain that includes the submitter himself is handled the same way.
    assert route("80000", submitter="mgr-1", chain=[("mgr-1", "manager"), ("dir-1", "director")]) == [
        ("manager", "dir-1")
    ]


def test_missing_role_falls_to_a_higher_one() -> None:
    chain = [("sup-1", "supervisor"), ("dir-1", "director"), ("rh-1", "regional_head")]
    assert route("500000", chain=chain) == [("director", "dir-1")]


def test_routing_fails_when_nobody_is_eligible() -> None:
    with pytest.raises(FailedPrecondition) as info:
        route("2000000", chain=[("mgr-1", "manager"), ("dir-1", "director")])
    assert info.value.field == "chain"
    with pytest.raises(FailedPrecondition):
        route("80000", submitter="rh-1", chain=[("rh-1", "regional_head")])


def test_unknown_roles_never_approve() -> None:
    with pytest.raises(FailedPrecondition):
        route("10", chain=[("fin-1", "finance"), ("aud-1", "auditor")])


def test_steps_are_numbered_in_order() -> None:
    steps = route_approval(cny("2000000"), RULES, "rep-1", CHAIN)
    assert [s.order for s in steps] == [1, 2, 3]
    assert all(s.status is StepStatus.PENDING for s in steps)


# --- flow -------------------------------------------------------------------------------------


def flow(amount: str = "500000"):
    return start_approval(route_approval(cny(amount), RULES, "rep-1", CHAIN), NOW)


def test_steps_are_approved_in_order_and_the_last_approval_ends_the_flow() -> None:
    f = flow()
    assert f.current_step.approver_id == "mgr-1" and f.current_step.activated_at == NOW
    f = approve_step(f, "mgr-1", NOW + timedelta(hours=1), "ok")
    assert f.status is FlowStatus.PENDING
    assert (f.current_step.approver_id, f.current_step.activated_at) == ("dir-1", NOW + timedelta(hours=1))
    f = approve_step(f, "dir-1", NOW + timedelta(hours=2))
    assert (f.status, f.finished_at, f.current_step) == (FlowStatus.APPROVED, NOW + timedelta(hours=2), None)
    assert [s.status for s in f.steps] == [StepStatus.APPROVED, StepStatus.APPROVED]
    assert f.steps[0].comment == "ok"


def test_approving_out_of_turn_is_rejected() -> None:
    with pytest.raises(FailedPrecondition, match="out of turn") as info:
        approve_step(flow(), "dir-1", NOW)
    assert info.value.field == "approver_id"


def test_strangers_cannot_decide() -> None:
    with pytest.raises(PermissionDenied):
        approve_step(flow(), "rep-1", NOW)
    with pytest.raises(PermissionDenied):
        reject_step(flow(), "someone", "no", NOW)


def test_rejection_with_a_comment_ends_the_flow() -> None:
    f = reject_step(flow("2000000"), "mgr-1", "discount too deep", NOW)
    assert f.status is FlowStatus.REJECTED
    assert [s.status for s in f.steps] == [StepStatus.REJECTED, StepStatus.CANCELLED, StepStatus.CANCELLED]
    assert f.steps[0].comment == "discount too deep"
    with pytest.raises(FailedPrecondition) as info:
        approve_step(f, "dir-1", NOW)
    assert info.value.field == "status"


def test_rejection_needs_a_comment() -> None:
    with pytest.raises(ValidationFailed) as info:
        reject_step(flow(), "mgr-1", "  ", NOW)
    assert info.value.field == "comment"


def test_finished_flow_cannot_be_approved_again() -> None:
    f = approve_step(flow("10"), "mgr-1", NOW)
    with pytest.raises(FailedPrecondition):
        approve_step(f, "mgr-1", NOW)


def test_flow_needs_steps_and_aware_times() -> None:
    with pytest.raises(ValidationFailed) as info:
        start_approval([], NOW)
    assert info.value.field == "steps"
    with pytest.raises(ValidationFailed) as info:
        approve_step(flow(), "mgr-1", datetime(2026, 3, 2))
    assert info.value.field == "now"


# --- reminders --------------------------------------------------------------------------------

DAY = timedelta(days=1)


def test_reminder_is_due_after_the_timeout_since_the_turn_began() -> None:
    f = flow()
    assert reminder_due(f, NOW + DAY - timedelta(seconds=1), DAY) is None
    assert reminder_due(f, NOW + DAY, DAY).approver_id == "mgr-1"
    # The director's turn starts at the manager's approval, not at the flow start.
    f = approve_step(f, "mgr-1", NOW + 3 * DAY)
    assert reminder_due(f, NOW + 3 * DAY + timedelta(hours=23), DAY) is None
    assert reminder_due(f, NOW + 4 * DAY, DAY).approver_id == "dir-1"


def test_reminding_is_idempotent_until_another_timeout() -> None:
    f = mark_reminded(flow(), NOW + 2 * DAY)
    assert reminder_due(f, NOW + 2 * DAY, DAY) is None
    assert reminder_due(f, NOW + 3 * DAY - timedelta(minutes=1), DAY) is None
    assert reminder_due(f, NOW + 3 * DAY, DAY) is not None


def test_no_reminders_for_finished_flows() -> None:
    f = reject_step(flow(), "mgr-1", "no", NOW)
    assert reminder_due(f, NOW + 10 * DAY, DAY) is None
    with pytest.raises(FailedPrecondition):
        mark_reminded(f, NOW)


def test_reminder_timeout_must_be_positive() -> None:
    with pytest.raises(ValidationFailed) as info:
        reminder_due(flow(), NOW, timedelta(0))
    assert info.value.field == "timeout"
