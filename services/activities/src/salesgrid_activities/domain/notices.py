"""What an inbox notice is: the kinds, the parameters each kind carries, the Notice one event
raises (its kind, its parameters: the facts a client renders the title from in its own language,
the console's templates being per kind; a one-line English title kept as the fallback for API
clients; the record it links to and who receives it) and the one way to build one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def notice(
    kind: str, title: str, record_id: str, recipients: Iterable[str], owner_id: str, /, **params: object
) -> Notice:
    facts = {name: str(value)[:300] for name, value in params.items()}
    assert set(facts) == set(PARAMS[kind]), (kind, sorted(facts))  # the documented set, always all of it
    return Notice(kind, title[:300], KINDS[kind], record_id, _unique(recipients), owner_id, facts)


def check_kind(kind: str) -> str:
    if kind and kind not in KINDS:
        raise ValidationFailed(f"unknown kind {kind!r}; one of {', '.join(KINDS)}", "kind")
    return kind
