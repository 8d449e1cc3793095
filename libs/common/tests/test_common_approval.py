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


class Record:
    """A service's stored step (its ORM row), as store_steps and stored_reminder_due see it."""

    def __init__(self, role: str, approver_id: str) -> None:
        self.role, self.approver_id, self.status = role, approver_id, "pending"
        self.activated_at = self.decided_at = self.reminded_at = None
        self.comment = None


def test_stored_steps_follow_the_flow_and_say_what_happened() -> None:
    steps = [approval.ApprovalStep(1, "manager", "m-1"), approval.ApprovalStep(2, "director", "d-1")]
    records = {1: Record("manager", "m-1"), 2: Record("director", "d-1")}
    flow = approval.start_approval(steps, NOW)
    assert approval.store_steps(flow, records) == [(records[1], "activated")]
    assert records[1].activated_at == NOW and records[2].activated_at is None
    later = NOW + timedelta(hours=1)
    flow = approval.approve_step(flow, "m-1", later, "ok")
    assert approval.store_steps(flow, records) == [(records[1], "approved"), (records[2], "activated")]
    assert (records[1].status, records[1].decided_at, records[1].comment) == ("approved", later, "ok")
    assert approval.store_steps(flow, records) == []  # stored again: nothing new happened
    flow = approval.reject_step(flow, "d-1", "too deep", later)
    assert approval.store_steps(flow, records) == [(records[2], "rejected")]
    assert records[2].status == "rejected" and records[2].comment == "too deep"


def test_a_stored_step_is_reminded_after_the_timeout_since_its_turn_or_last_reminder() -> None:
    record = Record("manager", "m-1")
    record.activated_at = NOW
    day = timedelta(hours=24)
    assert not approval.stored_reminder_due(record, NOW + day - timedelta(seconds=1), day)
    assert approval.stored_reminder_due(record, NOW + day, day)
    record.reminded_at = NOW + day
    assert not approval.stored_reminder_due(record, NOW + day + timedelta(hours=23), day)
    assert approval.stored_reminder_due(record, NOW + 2 * day, day)
