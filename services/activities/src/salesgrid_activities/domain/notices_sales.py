"""Notices the customer and deal life cycle raises: stage SLAs, pool returns, ownership and
sharing decisions, overdue instalments and special-discount approvals."""

from __future__ import annotations

from collections.abc import Iterable

from .notices import Notice, notice

POOL_RULES = {"no_follow_up": "no follow-up", "no_opportunity": "no new opportunity", "no_deal": "no deal"}


def sla_notice(
    opportunity_id: str, stage: str, level: str, recipient_ids: Iterable[str], owner_id: str, due_date: str
) -> Notice:
    """Overdue reminds the owner and his manager; escalated also his manager's manager (the
    pipeline names them). The owner always gets his own copy."""
    if level == "escalated":
        return notice(
            "sla_escalated",
            f"Stage {stage} escalated: overdue since {due_date}",
            opportunity_id,
            [owner_id, *recipient_ids],
            owner_id,
            stage=stage,
            due_date=due_date,
        )
    return notice(
        "sla_overdue",
        f"Stage {stage} is overdue (due {due_date})",
        opportunity_id,
        [owner_id, *recipient_ids],
        owner_id,
        stage=stage,
        due_date=due_date,
    )


def pool_return_warning(customer_id: str, owner_id: str, rule: str, due_at: str) -> Notice:
    reason = POOL_RULES.get(rule, rule)
    return notice(
        "pool_return_warning",
        f"Customer returns to the public pool on {due_at[:10]} ({reason})",
        customer_id,
        [owner_id],
        owner_id,
        date=due_at[:10],
        rule=rule,
    )


def ownership_decided(
    customer_ids: Iterable[str],
    rep_ids: Iterable[str],
    winner_rep_id: str,
    winner_customer_id: str,
    rule: str,
    reason: str,
) -> Notice:
    """Both (all) reps of an ownership conflict learn the decision and its reason."""
    customers = list(customer_ids)
    title = f"Ownership decided ({rule}): {reason}" if winner_rep_id else f"Ownership undecided: {reason or rule}"
    return notice(
        "ownership_decided",
        title,
        winner_customer_id or (customers[0] if customers else ""),
        rep_ids,
        winner_rep_id,
        decided="true" if winner_rep_id else "false",
        rule=rule,
        reason=reason,
    )


def share_requested(
    request_id: str, requester_name: str, customer_name: str, owner_id: str, owner_manager_id: str
) -> Notice:
    """The owner and his manager may decide; both are asked."""
    return notice(
        "share_requested",
        f"{requester_name or 'A colleague'} asks to share {customer_name}",
        request_id,
        [owner_id, owner_manager_id],
        owner_id,
        requester=requester_name,
        customer=customer_name,
    )


def share_request_decided(
    request_id: str, status: str, customer_name: str, requester_id: str, owner_id: str, decided_by_name: str
) -> Notice:
    return notice(
        "share_request_decided",
        f"Share request for {customer_name} {status} by {decided_by_name or 'the owner'}",
        request_id,
        [requester_id, owner_id],
        owner_id,
        customer=customer_name,
        status=status,
        decided_by=decided_by_name,
    )


def instalment_overdue(
    contract_id: str, number: str, seq: int, due_date: str, outstanding: str, currency: str, owner_id: str
) -> Notice:
    return notice(
        "instalment_overdue",
        f"Contract {number}: instalment {seq} due {due_date} is overdue ({outstanding} {currency})",
        contract_id,
        [owner_id],
        owner_id,
        number=number,
        seq=seq,
        due_date=due_date,
        outstanding=outstanding,
        currency=currency,
    )


def discount_approval(quote_id: str, approver_id: str, owner_id: str, rate: str, reminder: bool = False) -> Notice:
    """A quote's special discount (特批折扣) waits for this approver (again, when it is a reminder)."""
    title = f"A special discount of {rate}% awaits your approval"
    return notice(
        "discount_approval",
        f"Reminder: {title}" if reminder else title,
        quote_id,
        [approver_id],
        owner_id,
        rate=rate,
        reminder="true" if reminder else "false",
    )


def discount_settled(quote_id: str, status: str, rate: str, owner_id: str, submitter_id: str, comment: str) -> Notice:
    """The quote's owner and whoever issued it learn the outcome (a rejection with its reason)."""
    reason = f": {comment}" if status == "rejected" and comment else ""
    return notice(
        "discount_settled",
        f"The special discount of {rate}% was {status}{reason}",
        quote_id,
        [owner_id, submitter_id],
        owner_id,
        rate=rate,
        status=status,
        comment=comment if status == "rejected" else "",
    )
