"""Who receives which notice, and where it links, as plain Python."""

from __future__ import annotations

import pytest

from salesgrid_activities.domain import inbox
from salesgrid_common.errors import ValidationFailed


def test_sla_notices_always_reach_the_owner_once_and_escalations_are_their_own_kind() -> None:
    overdue = inbox.sla_notice("opp-1", "bidding", "overdue", ["mgr", "rep-a", ""], "rep-a", "2026-03-01")
    assert (overdue.kind, overdue.recipients, overdue.record_type, overdue.subject_owner_id) == (
        "sla_overdue",
        ("rep-a", "mgr"),
        "opportunity",
        "rep-a",
    )
    escalated = inbox.sla_notice("opp-1", "bidding", "escalated", ["mgr", "dir"], "rep-a", "2026-03-01")
    assert (escalated.kind, escalated.recipients) == ("sla_escalated", ("rep-a", "mgr", "dir"))


def test_share_requests_ask_owner_and_manager_and_decisions_tell_requester_and_owner() -> None:
    asked = inbox.share_requested("sr-1", "Rep B", "Acme", "rep-a", "mgr")
    assert (asked.recipients, asked.record_type, asked.record_id) == (("rep-a", "mgr"), "share_request", "sr-1")
    assert inbox.share_requested("sr-1", "Rep B", "Acme", "rep-a", "").recipients == ("rep-a",)  # no manager
    decided = inbox.share_request_decided("sr-1", "declined", "Acme", "rep-b", "rep-a", "Mgr")
    assert decided.recipients == ("rep-b", "rep-a") and "declined by Mgr" in decided.title


def test_ownership_decisions_reach_every_rep_and_link_the_winning_record() -> None:
    decided = inbox.ownership_decided(["c-1", "c-2"], ["rep-a", "rep-b"], "rep-b", "c-2", "first_follow_up", "x")
    assert (decided.recipients, decided.record_id, decided.subject_owner_id) == (("rep-a", "rep-b"), "c-2", "rep-b")
    undecided = inbox.ownership_decided(["c-1", "c-2"], ["rep-a", "rep-b"], "", "", "", "no rule decided")
    assert undecided.record_id == "c-1" and "undecided" in undecided.title.lower()


def test_tasks_pool_and_instalments() -> None:
    assert inbox.task_overdue("t-1", "call", "rep-a", "rep-a").recipients == ("rep-a",)
    assert inbox.task_overdue("t-1", "call", "rep-a", "mgr").recipients == ("rep-a", "mgr")
    assert "in 15 min" in inbox.task_reminder("t-1", "call", "rep-a", 15).title
    warning = inbox.pool_return_warning("c-1", "rep-a", "no_deal", "2026-03-17T00:00:00Z")
    assert "2026-03-17" in warning.title and "no deal" in warning.title and warning.record_type == "customer"
    assert inbox.pool_return_warning("c-1", "", "no_deal", "2026-03-17T00:00:00Z").recipients == ()
    overdue = inbox.instalment_overdue("ctr-1", "HT-9", 2, "2026-03-09", "10.00", "CNY", "rep-a")
    assert overdue.record_type == "contract" and "HT-9" in overdue.title and "10.00 CNY" in overdue.title


def test_every_kind_links_to_a_record_type_and_unknown_kinds_are_refused() -> None:
    assert set(inbox.KINDS.values()) == {
        "opportunity",
        "customer",
        "share_request",
        "contract",
        "task",
        "expense_claim",
        "announcement",
        "spot_check",
        "webhook_subscription",
        "quote",
    }
    assert inbox.check_kind("") == "" and inbox.check_kind("task_reminder") == "task_reminder"
    with pytest.raises(ValidationFailed) as error:
        inbox.check_kind("gossip")
    assert error.value.field == "kind"


def test_announcements_and_spot_checks() -> None:
    notice = inbox.announcement("an-1", "三月例会", ["rep-a", "mgr", "rep-a"], "mgr")
    assert (notice.kind, notice.record_type, notice.recipients) == ("announcement", "announcement", ("rep-a", "mgr"))
    assert "三月例会" in notice.title
    assert inbox.spot_check_assigned("sc-1", "2026-W10", "adm", "rep-a").recipients == ("adm",)
    found = inbox.spot_check_false("sc-1", "2026-W10", "rep-a", "mgr", "80.00", "CNY")
    assert found.recipients == ("rep-a", "mgr") and "80.00 CNY" in found.title and found.subject_owner_id == "rep-a"
    assert inbox.spot_check_false("sc-1", "2026-W10", "rep-a", "", "80.00", "CNY").recipients == ("rep-a",)


def test_a_disabled_webhook_tells_its_owner_why_and_a_partner_key_has_no_inbox() -> None:
    told = inbox.webhook_disabled("wh-1", "https://erp.example.com/hook", "failing for 5 days", "rep-a", "user")
    assert (told.kind, told.record_type, told.record_id, told.recipients) == (
        "webhook_disabled",
        "webhook_subscription",
        "wh-1",
        ("rep-a",),
    )
    assert "https://erp.example.com/hook" in told.title and "failing for 5 days" in told.title
    assert inbox.webhook_disabled("wh-2", "https://x", "r", "key-1", "api_key").recipients == ()


def test_every_notice_carries_the_parameters_its_kind_documents_as_strings() -> None:
    """Clients render titles in their own language from kind + params; the English title stays."""
    notices = [
        inbox.sla_notice("opp-1", "bidding", "overdue", [], "rep-a", "2026-03-01"),
        inbox.sla_notice("opp-1", "bidding", "escalated", [], "rep-a", "2026-03-01"),
        inbox.pool_return_warning("c-1", "rep-a", "no_follow_up", "2026-03-17T00:00:00Z"),
        inbox.ownership_decided(["c-1"], ["rep-a", "rep-b"], "rep-a", "c-1", "first_registered", "earlier"),
        inbox.share_requested("sr-1", "Rep B", "Acme", "rep-a", "mgr"),
        inbox.share_request_decided("sr-1", "accepted", "Acme", "rep-b", "rep-a", "Mgr"),
        inbox.instalment_overdue("k-1", "HT-001", 2, "2026-03-01", "5000.00", "CNY", "rep-a"),
        inbox.task_reminder("t-1", "Call back", "rep-a", 15),
        inbox.task_overdue("t-1", "Call back", "rep-a", "mgr"),
        inbox.expense_approval("x-1", "mgr", "rep-a", "420.00", "CNY", reminder=True),
        inbox.expense_settled("x-1", "rejected", "420.00", "CNY", "rep-a", "no receipt"),
        inbox.announcement("a-1", "月度例会", ["rep-a"], "mgr"),
        inbox.spot_check_assigned("s-1", "2026-W10", "admin", "rep-a"),
        inbox.spot_check_false("s-1", "2026-W10", "rep-a", "mgr", "200.00", "CNY"),
        inbox.discount_approval("q-1", "mgr", "rep-a", "15.0", reminder=False),
        inbox.discount_settled("q-1", "approved", "15.0", "rep-a", "rep-a", "ignored unless rejected"),
        inbox.webhook_disabled("w-1", "https://example.com/h", "410 Gone", "u-1", "user"),
    ]
    assert {n.kind for n in notices} == set(inbox.KINDS) == set(inbox.PARAMS)
    for notice in notices:
        assert set(notice.params) == set(inbox.PARAMS[notice.kind]), notice.kind
        assert all(isinstance(v, str) for v in notice.params.values())
    by_kind = {n.kind: n for n in notices}
    assert by_kind["pool_return_warning"].params == {"date": "2026-03-17", "rule": "no_follow_up"}
    assert by_kind["instalment_overdue"].params == {
        "number": "HT-001",
        "seq": "2",
        "due_date": "2026-03-01",
        "outstanding": "5000.00",
        "currency": "CNY",
    }
    assert by_kind["expense_approval"].params["reminder"] == "true"
    assert by_kind["expense_settled"].params["comment"] == "no receipt"
    assert by_kind["discount_settled"].params == {"rate": "15.0", "status": "approved", "comment": ""}
    assert by_kind["announcement"].params == {"title": "月度例会"} and "月度例会" in by_kind["announcement"].title
