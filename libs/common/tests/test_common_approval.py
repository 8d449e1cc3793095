"""The shared approval flow (salesgrid_common.approval): routing up the chain, turns, decisions."""
from datetime import UTC, datetime, timedelta

import pytest
from salesgrid_common import approval
from salesgrid_common.errors import FailedPrecondition, PermissionDenied, ValidationFailed

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
CHAIN = [("sup-1", "supervisor"), ("mgr-1", "manager"), ("dir-1", "director")]


def test_roles_are_routed_up_the_chain_never_to_the_submitter() -> None:
    steps = approval.route_roles(["supervisor", "director"], "rep-1", CHAIN)
    assert [(s.approver_id, s.role) for s in steps] == [("sup-1", "supervisor"), ("dir-1", "director")]
    # the submitter sitting in his own chain is skipped
    steps = approval.route_roles(["supervisor"], "sup-1", CHAIN)
    assert [s.approver_id for s in steps] == ["mgr-1"]
    # one person covering consecutive roles approves once, under the higher role
    steps = approval.route_roles(["supervisor", "manager"], "rep-1", [("mgr-1", "manager")])
    assert [(s.approver_id, s.role) for s in steps] == [("mgr-1", "manager")]
    with pytest.raises(FailedPrecondition):
        approval.route_roles(["director"], "rep-1", [("mgr-1", "manager"), ("fin-1", "finance")])
    with pytest.raises(ValidationFailed):
        approval.route_roles(["boss"], "rep-1", CHAIN)


def test_steps_decide_in_turn_and_a_rejection_ends_the_flow() -> None:
    flow = approval.start_approval(approval.route_roles(["supervisor", "director"], "rep-1", CHAIN), NOW)
    with pytest.raises(FailedPrecondition):  # out of turn
        approval.approve_step(flow, "dir-1", NOW)
    with pytest.raises(PermissionDenied):
        approval.approve_step(flow, "mgr-1", NOW)
    flow = approval.approve_step(flow, "sup-1", NOW)
    assert flow.current_step is not None and flow.current_step.approver_id == "dir-1"
    with pytest.raises(ValidationFailed):
        approval.reject_step(flow, "dir-1", " ", NOW)
    rejected = approval.reject_step(flow, "dir-1", "too much", NOW + timedelta(hours=1))
    assert rejected.status is approval.FlowStatus.REJECTED and rejected.current_step is None
    approved = approval.approve_step(flow, "dir-1", NOW)
    assert approved.status is approval.FlowStatus.APPROVED and approved.finished_at == NOW
