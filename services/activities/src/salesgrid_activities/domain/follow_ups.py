"""Follow-up records (跟进记录): what a rep did with a customer or lead, and when to follow up next."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from salesgrid_common import zones

from ._validation import Violations, require_instant

MAX_NOTES_LENGTH = 5000
# Phones and laptops drift; a record stamped a few minutes ahead of the server is not a lie.
DEFAULT_CLOCK_SKEW = timedelta(minutes=10)


class FollowUpKind(StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    VISIT = "visit"
    OTHER = "other"


@dataclass(frozen=True)
class FollowUp:
    """A validated, normalised follow-up (ids stripped, ``occurred_at`` in UTC); once logged, also
    its id, who logged it, his org path (its scope) and when."""

    kind: FollowUpKind
    occurred_at: datetime
    notes: str
    customer_id: str | None
    contact_id: str | None
    opportunity_id: str | None
    lead_id: str | None
    next_follow_up_on: date | None
    id: str = ""
    owner_id: str = ""
    org_path: str = ""
    created_at: datetime | None = None
    version: int = 1

    def logged(self, *, id: str, owner_id: str, org_path: str, now: datetime) -> FollowUp:
        """The follow-up as the rep `owner_id` of `org_path` logs it now."""
        return replace(self, id=id, owner_id=owner_id, org_path=org_path, created_at=now, version=1)


def validate_follow_up(
    *,
    kind: str,
    occurred_at: datetime,
    notes: str,
    customer_id: str | None = None,
    contact_id: str | None = None,
    opportunity_id: str | None = None,
    lead_id: str | None = None,
    next_follow_up_on: date | None = None,
    tz: ZoneInfo,
    now: datetime,
    clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
) -> FollowUp:
    """Check a follow-up and return it normalised; raises ValidationFailed listing every bad field.

    ``tz`` is the rep's unit time zone: the next follow-up date is compared with the local date
    on which the follow-up happened, not the UTC date.
    """
    server_now = require_instant(now, "now")
    v = Violations()
    parsed_kind: FollowUpKind | None = None
    try:
        parsed_kind = FollowUpKind(kind)
    except ValueError:
        v.add("kind", f"must be one of {', '.join(k.value for k in FollowUpKind)}")
    when = v.instant(occurred_at, "occurred_at")
    if when is not None and when > server_now + clock_skew:
        v.add("occurred_at", "must not be in the future")
    clean_notes = v.text(notes, "notes", max_length=MAX_NOTES_LENGTH, required=True)
    customer = v.identifier(customer_id, "customer_id", required=False)
    contact = v.identifier(contact_id, "contact_id", required=False)
    opportunity = v.identifier(opportunity_id, "opportunity_id", required=False)
    lead = v.identifier(lead_id, "lead_id", required=False)
    if customer is None and lead is None:
        v.add("customer_id", "a follow-up needs a customer or a lead")
    # Contacts and opportunities hang off a customer, so they cannot stand on a lead alone.
    if contact is not None and customer is None:
        v.add("contact_id", "needs customer_id")
    if opportunity is not None and customer is None:
        v.add("opportunity_id", "needs customer_id")
    if next_follow_up_on is not None:
        if isinstance(next_follow_up_on, datetime) or not isinstance(next_follow_up_on, date):
            v.add("next_follow_up_on", "must be a date")
        elif when is not None and next_follow_up_on < zones.local_date(when, tz.key):
            v.add("next_follow_up_on", "must not be before the follow-up date")
    v.raise_if_any()
    assert parsed_kind is not None and when is not None and clean_notes is not None
    return FollowUp(
        kind=parsed_kind,
        occurred_at=when,
        notes=clean_notes,
        customer_id=customer,
        contact_id=contact,
        opportunity_id=opportunity,
        lead_id=lead,
        next_follow_up_on=next_follow_up_on,
    )
