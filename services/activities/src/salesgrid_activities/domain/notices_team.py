"""Notices of the team's own work and the organisation: task reminders, expense claims,
announcements, spot checks and disabled webhooks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .notices import Notice, notice


def task_reminder(task_id: str, title: str, assignee_id: str, minutes_before: int) -> Notice:
    when = f"in {minutes_before} min" if minutes_before > 0 else "now"
    return notice(
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
    return notice("task_overdue", f"Task overdue: {title}", task_id, [assignee_id, creator_id], assignee_id, task=title)


def expense_approval(
    claim_id: str, approver_id: str, owner_id: str, total: str, currency: str, reminder: bool
) -> Notice:
    """An expense claim waits for this approver (again, when it is a reminder)."""
    title = f"Expense claim of {total} {currency} awaits your approval"
    return notice(
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
    return notice(
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
    return notice("announcement", f"Announcement: {title}", announcement_id, recipient_ids, publisher_id, title=title)


def spot_check_assigned(spot_check_id: str, week: str, verifier_id: str, rep_id: str) -> Notice:
    return notice(
        "spot_check_assigned",
        f"Spot check {week}: verify a follow-up",
        spot_check_id,
        [verifier_id],
        rep_id,
        week=week,
    )


def spot_check_false(spot_check_id: str, week: str, rep_id: str, manager_id: str, fine: str, currency: str) -> Notice:
    """A follow-up found false (虚报): the rep and his manager learn it, with the fine."""
    return notice(
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
    return notice(
        "webhook_disabled",
        f"{whose} to {url} disabled: {reason}. Re-enable it once the endpoint answers again",
        subscription_id,
        recipients,
        owner_id,
        url=url,
        reason=reason,
    )
