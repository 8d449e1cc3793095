"""Leads (线索): pool, assignment by rule, follow-up clock, reclaim, close as invalid, convert.

State machine::

    POOL ──assign/claim──▶ ASSIGNED ──convert──▶ CONVERTED
      ▲                       │  │
      └──────reclaim──────────┘  └──close_invalid──▶ INVALID   (close_invalid also from POOL)

An assigned lead not followed up within ``RECLAIM_AFTER_DAYS`` (14, configurable) of its
assignment or last follow-up goes back to the pool (source: 线索2周没有跟踪就收回).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any

from salesgrid_common import zones

from salesgrid_common.validation import check_text, require_aware, require_text

from .errors import FailedPrecondition, ValidationFailed
from .money import Money, check_money

RECLAIM_AFTER_DAYS = 14
NAME_MAX_LENGTH = 200
REASON_MAX_LENGTH = 1000


class LeadStatus(str, Enum):
    POOL = "pool"
    ASSIGNED = "assigned"
    CONVERTED = "converted"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Lead:
    lead_id: str
    company_name: str
    created_at: datetime
    status: LeadStatus = LeadStatus.POOL
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    region: str = ""
    industry: str = ""
    source: str = ""
    estimated_amount: Money | None = None
    owner_id: str | None = None
    assigned_at: datetime | None = None
    last_followed_up_at: datetime | None = None
    closed_reason: str | None = None
    closed_at: datetime | None = None
    # as stored with it: the owner's unit (or the pool's), who created it, its version and the
    # custom field values
    org_path: str = ""
    created_by: str = ""
    version: int = 1
    custom_fields: Mapping[str, Any] = field(default_factory=dict)


def new_lead(
    lead_id: str,
    company_name: str,
    now: datetime,
    *,
    contact_name: str = "",
    phone: str = "",
    email: str = "",
    region: str = "",
    industry: str = "",
    source: str = "",
    estimated_amount: Money | None = None,
) -> Lead:
    """A validated lead in the pool."""
    require_aware(now, "now")
    problems = check_text(lead_id, "lead_id", max_length=64)
    problems += check_text(company_name, "company_name", max_length=NAME_MAX_LENGTH)
    for name, value in (
        ("contact_name", contact_name),
        ("phone", phone),
        ("region", region),
        ("industry", industry),
        ("source", source),
    ):
        problems += check_text(value, name, max_length=NAME_MAX_LENGTH, required=False)
    problems += check_text(email, "email", max_length=254, required=False)
    if (
        isinstance(email, str)
        and email.strip()
        and ("@" not in email or email.strip().startswith("@") or email.strip().endswith("@"))
    ):
        problems.append(("email", "must be an e-mail address"))
    if estimated_amount is not None:
        problems += check_money(estimated_amount, "estimated_amount")
    if problems:
        raise ValidationFailed.many(problems)
    return Lead(
        lead_id=lead_id.strip(),
        company_name=company_name.strip(),
        created_at=now,
        contact_name=contact_name.strip(),
        phone=phone.strip(),
        email=email.strip(),
        region=region.strip(),
        industry=industry.strip(),
        source=source.strip(),
        estimated_amount=estimated_amount,
    )


def _require_status(lead: Lead, action: str, *allowed: LeadStatus) -> None:
    if lead.status not in allowed:
        expected = " or ".join(s.value for s in allowed)
        raise FailedPrecondition(f"cannot {action} a lead that is {lead.status.value} (must be {expected})", "status")


def assign(lead: Lead, rep_id: str, now: datetime) -> Lead:
    """Assign (or re-assign) to a rep; the follow-up clock starts again."""
    rep_id = require_text(rep_id, "rep_id", max_length=64)
    require_aware(now, "now")
    _require_status(lead, "assign", LeadStatus.POOL, LeadStatus.ASSIGNED)
    if lead.owner_id == rep_id:
        raise FailedPrecondition("lead is already assigned to this rep", "rep_id")
    return replace(lead, status=LeadStatus.ASSIGNED, owner_id=rep_id, assigned_at=now, last_followed_up_at=None)


def claim(lead: Lead, rep_id: str, now: datetime) -> Lead:
    """A rep takes a lead from the pool."""
    rep_id = require_text(rep_id, "rep_id", max_length=64)
    require_aware(now, "now")
    _require_status(lead, "claim", LeadStatus.POOL)
    return replace(lead, status=LeadStatus.ASSIGNED, owner_id=rep_id, assigned_at=now, last_followed_up_at=None)


def record_follow_up(lead: Lead, at: datetime) -> Lead:
    """A follow-up was logged at ``at``; an older (out-of-order) event never moves the clock back."""
    require_aware(at, "at")
    _require_status(lead, "follow up", LeadStatus.ASSIGNED)
    if lead.last_followed_up_at is not None and lead.last_followed_up_at >= at:
        return lead
    return replace(lead, last_followed_up_at=at)


def reclaim_due_at(
    lead: Lead, reclaim_after_days: int = RECLAIM_AFTER_DAYS, zone_name: str = zones.DEFAULT_ZONE
) -> datetime | None:
    """When an assigned lead falls back to the pool if nobody follows it up (None if not assigned):
    ``reclaim_after_days`` days on the owner's branch calendar after the last touch."""
    if lead.status is not LeadStatus.ASSIGNED or lead.assigned_at is None:
        return None
    if isinstance(reclaim_after_days, bool) or not isinstance(reclaim_after_days, int) or reclaim_after_days <= 0:
        raise ValidationFailed("must be a positive number of days", "reclaim_after_days")
    last_touch = max(lead.assigned_at, lead.last_followed_up_at or lead.assigned_at)
    return zones.add_local_days(last_touch, reclaim_after_days, zone_name)


def is_reclaim_due(
    lead: Lead, now: datetime, reclaim_after_days: int = RECLAIM_AFTER_DAYS, zone_name: str = zones.DEFAULT_ZONE
) -> bool:
    require_aware(now, "now")
    due_at = reclaim_due_at(lead, reclaim_after_days, zone_name)
    return due_at is not None and now >= due_at


def reclaim(
    lead: Lead, now: datetime, reclaim_after_days: int = RECLAIM_AFTER_DAYS, zone_name: str = zones.DEFAULT_ZONE
) -> Lead:
    """Return a neglected lead to the pool; refuses if the follow-up window has not passed."""
    _require_status(lead, "reclaim", LeadStatus.ASSIGNED)
    if not is_reclaim_due(lead, now, reclaim_after_days, zone_name):
        raise FailedPrecondition("lead was followed up recently; not due for reclaim", "last_followed_up_at")
    return replace(lead, status=LeadStatus.POOL, owner_id=None, assigned_at=None, last_followed_up_at=None)


def close_invalid(lead: Lead, reason: str, now: datetime) -> Lead:
    """Close a lead as invalid (junk, duplicate, no need); a reason is required."""
    reason = require_text(reason, "reason", max_length=REASON_MAX_LENGTH)
    require_aware(now, "now")
    _require_status(lead, "close", LeadStatus.POOL, LeadStatus.ASSIGNED)
    return replace(lead, status=LeadStatus.INVALID, closed_reason=reason, closed_at=now)


# ---- conversion -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerDraft:
    """What to create in the customers service (it runs its own duplicate check)."""

    name: str
    owner_id: str
    industry: str
    region: str
    source: str
    contact_name: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class OpportunityDraft:
    """What to create here once the customer id is known."""

    name: str
    owner_id: str
    amount: Money | None
    source_lead_id: str


@dataclass(frozen=True, slots=True)
class ConversionPlan:
    lead: Lead  # the lead, now CONVERTED
    customer: CustomerDraft | None  # None when converting onto an existing customer
    existing_customer_id: str | None
    opportunity: OpportunityDraft


def convert(
    lead: Lead,
    now: datetime,
    *,
    opportunity_name: str | None = None,
    existing_customer_id: str | None = None,
) -> ConversionPlan:
    """Convert an assigned lead into a customer (new or existing) and an opportunity."""
    require_aware(now, "now")
    _require_status(lead, "convert", LeadStatus.ASSIGNED)
    assert lead.owner_id is not None
    name = require_text(
        opportunity_name if opportunity_name is not None else lead.company_name,
        "opportunity_name",
        max_length=NAME_MAX_LENGTH,
    )
    if existing_customer_id is not None:
        existing_customer_id = require_text(existing_customer_id, "existing_customer_id", max_length=64)
    customer = None
    if existing_customer_id is None:
        customer = CustomerDraft(
            name=lead.company_name,
            owner_id=lead.owner_id,
            industry=lead.industry,
            region=lead.region,
            source=lead.source,
            contact_name=lead.contact_name,
            phone=lead.phone,
            email=lead.email,
        )
    return ConversionPlan(
        lead=replace(lead, status=LeadStatus.CONVERTED, closed_at=now),
        customer=customer,
        existing_customer_id=existing_customer_id,
        opportunity=OpportunityDraft(name, lead.owner_id, lead.estimated_amount, lead.lead_id),
    )


def leads_due_for_reclaim(
    leads: Iterable[Lead], now: datetime, reclaim_after_days: int = RECLAIM_AFTER_DAYS
) -> list[Lead]:
    """The assigned leads whose follow-up window has passed (for the periodic reclaim job)."""
    return [lead for lead in leads if is_reclaim_due(lead, now, reclaim_after_days)]
