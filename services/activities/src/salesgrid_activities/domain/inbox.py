"""The per-user inbox: what each notice raised elsewhere means for the people it concerns.

Each function turns one event's facts into a Notice: its kind, its parameters (the facts a client
renders the title from in its own language: the console's templates are per kind), a one-line
English title kept as the fallback for API clients, the record it links to and who receives it. Recipients each get their own item (own read state); the record
owner's copy is the canonical one for team views ("a manager sees his team's escalations")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from salesgrid_common.errors import ValidationFailed

# kind → the record type its link points to
KINDS: dict[str, str] = {
    "sla_overdue": "opportunity",
    "sla_escalated": "opportunity",
    "pool_return_warning": "customer",
    "ownership_decided": "customer",
    "share_requested": "share_request",
    "share_request_decided": "share_request",
    "instalment_overdue": "contract",
    "task_reminder": "task",
    "task_overdue": "task",
    "expense_approval": "expense_claim",
    "expense_settled": "expense_claim",
    "announcement": "announcement",
    "spot_check_assigned": "spot_check",
    "spot_check_false": "spot_check",
    "discount_approval": "quote",
    "discount_settled": "quote",
    "webhook_disabled": "webhook_subscription",
}
# kind → the parameters every notice of that kind carries (strings; "" when a fact is unknown).
# `reminder` is "true" for a repeated request; `status` is the outcome's code (approved, rejected,
# paid, accepted, declined); `rule` a pool-return rule code (no_follow_up, no_opportunity, no_deal).
PARAMS: dict[str, tuple[str, ...]] = {
    "sla_overdue": ("stage", "due_date"),
    "sla_escalated": ("stage", "due_date"),
    "pool_return_warning": ("date", "rule"),
    "ownership_decided": ("decided", "rule", "reason"),
    "share_requested": ("requester", "customer"),
    "share_request_decided": ("customer", "status", "decided_by"),
    "instalment_overdue": ("number", "seq", "due_date", "outstanding", "currency"),
    "task_reminder": ("task", "minutes_before"),
    "task_overdue": ("task",),
    "expense_approval": ("total", "currency", "reminder"),
    "expense_settled": ("total", "currency", "status", "comment"),
    "announcement": ("title",),
    "spot_check_assigned": ("week",),
    "spot_check_false": ("week", "fine", "currency"),
    "discount_approval": ("rate", "reminder"),
    "discount_settled": ("rate", "status", "comment"),
    "webhook_disabled": ("url", "reason"),
}
POOL_RULES = {"no_follow_up": "no follow-up", "no_opportunity": "no new opportunity", "no_deal": "no deal"}


@dataclass(frozen=True)
class Notice:
    kind: str
    title: str
    record_type: str
    record_id: str
    recipients: tuple[str, ...]
    subject_owner_id: str  # owner of the record the notice is about; "" when nobody owns it
    params: Mapping[str, str] = field(default_factory=dict)  # the title's facts, by name (PARAMS[kind])


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in ids if i))


def _notice(
    kind: str, title: str, record_id: str, recipients: Iterable[str], owner_id: str, /, **params: object
) -> Notice:
    facts = {name: str(value)[:300] for name, value in params.items()}
    assert set(facts) == set(PARAMS[kind]), (kind, sorted(facts))  # the documented set, always all of it
    return Notice(kind, title[:300], KINDS[kind], record_id, _unique(recipients), owner_id, facts)


def sla_notice(
    opportunity_id: str, stage: str, level: str, recipient_ids: Iterable[str], owner_id: str, due_date: str
) -> Notice:
    """Overdue reminds the owner and his manager; escalated also his manager's manager (the
    pipeline names them). The owner always gets his own copy."""
    if level == "escalated":
        return _notice(
            "sla_escalated",
            f"Stage {stage} escalated: overdue since {due_date}",
            opportunity_id,
            [owner_id, *recipient_ids],
            owner_id,
            stage=stage,
            due_date=due_date,
        )
    return _notice(
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
    return _notice(
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
    return _notice(
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
    return _notice(
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
    return _notice(
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
    return _notice(
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


def task_reminder(task_id: str, title: str, assignee_id: str, minutes_before: int) -> Notice:
    when = f"in {minutes_before} min" if minutes_before > 0 else "now"
    return _notice(
        "task_reminder",
        f"Reminder: {title} ({when})",
        task_id,
        [assignee_id],
        assignee_id,
        task=title,
        minutes_before=max(minutes_before, 0),
    )


def task_overdue(task_id: str, title: str, assignee_id: str, creator_id: str) -> Notice:
    """The assignee, and whoever gave him the task."""
    return _notice(
        "task_overdue", f"Task overdue: {title}", task_id, [assignee_id, creator_id], assignee_id, task=title
    )


def expense_approval(
    claim_id: str, approver_id: str, owner_id: str, total: str, currency: str, reminder: bool
) -> Notice:
    """An expense claim waits for this approver (again, when it is a reminder)."""
    title = f"Expense claim of {total} {currency} awaits your approval"
    return _notice(
        "expense_approval",
        f"Reminder: {title}" if reminder else title,
        claim_id,
        [approver_id],
        owner_id,
        total=total,
        currency=currency,
        reminder="true" if reminder else "false",
    )


def expense_settled(claim_id: str, status: str, total: str, currency: str, owner_id: str, comment: str) -> Notice:
    """The claimant learns that his claim was approved, rejected (with the reason) or paid."""
    reason = f": {comment}" if status == "rejected" and comment else ""
    return _notice(
        "expense_settled",
        f"Your expense claim of {total} {currency} was {status}{reason}",
        claim_id,
        [owner_id],
        owner_id,
        total=total,
        currency=currency,
        status=status,
        comment=comment if status == "rejected" else "",
    )


def announcement(announcement_id: str, title: str, recipient_ids: Iterable[str], publisher_id: str) -> Notice:
    """Every recipient of an announcement (新闻公告) gets his own copy; reading it is his receipt."""
    return _notice("announcement", f"Announcement: {title}", announcement_id, recipient_ids, publisher_id, title=title)


def spot_check_assigned(spot_check_id: str, week: str, verifier_id: str, rep_id: str) -> Notice:
    return _notice(
        "spot_check_assigned",
        f"Spot check {week}: verify a follow-up",
        spot_check_id,
        [verifier_id],
        rep_id,
        week=week,
    )


def spot_check_false(spot_check_id: str, week: str, rep_id: str, manager_id: str, fine: str, currency: str) -> Notice:
    """A follow-up found false (虚报): the rep and his manager learn it, with the fine."""
    return _notice(
        "spot_check_false",
        f"Spot check {week}: a follow-up was found false (fine {fine} {currency})",
        spot_check_id,
        [rep_id, manager_id],
        rep_id,
        week=week,
        fine=fine,
        currency=currency,
    )


def webhook_disabled(
    subscription_id: str, url: str, reason: str, owner_id: str, owner_kind: str, answerable: Sequence[str] = ()
) -> Notice:
    """A webhook subscription that kept failing was disabled: its owner learns why, and that
    `PATCH {"enabled": true}` turns it back on. A partner key has no inbox: the people who answer
    for the key (`answerable`, domain/answerable.py) are told instead."""
    recipients = [owner_id] if owner_kind == "user" else list(answerable)
    whose = "Webhook" if owner_kind == "user" else f"API key {owner_id}'s webhook"
    return _notice(
        "webhook_disabled",
        f"{whose} to {url} disabled: {reason}. Re-enable it once the endpoint answers again",
        subscription_id,
        recipients,
        owner_id,
        url=url,
        reason=reason,
    )


def discount_approval(quote_id: str, approver_id: str, owner_id: str, rate: str, reminder: bool = False) -> Notice:
    """A quote's special discount (特批折扣) waits for this approver (again, when it is a reminder)."""
    title = f"A special discount of {rate}% awaits your approval"
    return _notice(
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
    return _notice(
        "discount_settled",
        f"The special discount of {rate}% was {status}{reason}",
        quote_id,
        [owner_id, submitter_id],
        owner_id,
        rate=rate,
        status=status,
        comment=comment if status == "rejected" else "",
    )


def check_kind(kind: str) -> str:
    if kind and kind not in KINDS:
        raise ValidationFailed(f"unknown kind {kind!r}; one of {', '.join(KINDS)}", "kind")
    return kind
