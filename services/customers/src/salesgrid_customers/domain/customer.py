"""The customer aggregate and its field rules (its contacts' rules are in .contact)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from salesgrid_common import orgpaths

from .contact import (
    MAX_CONTACTS,
    MAX_PHONES,
    MAX_TEXT_LENGTH,
    Contact,
    check_contacts,
    make_contact,
    normalise_phone,
    optional_text,
    set_primary_contact,
    validate_email,
)
from .credit_code import validate_credit_code
from .dedup import normalise_name
from .errors import ValidationFailed

T = TypeVar("T")

MAX_NAME_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 32

__all__ = [  # the contact rules, long imported from here
    "MAX_CONTACTS",
    "MAX_PHONES",
    "MAX_TEXT_LENGTH",
    "Contact",
    "check_contacts",
    "make_contact",
    "normalise_phone",
    "set_primary_contact",
    "validate_email",
]


class Tier(StrEnum):
    KEY = "key"  # 重点
    NORMAL = "normal"  # 一般
    POTENTIAL = "potential"  # 潜在

    @property
    def rank(self) -> int:
        """Higher is more important; merge keeps the highest tier."""
        return {Tier.KEY: 3, Tier.NORMAL: 2, Tier.POTENTIAL: 1}[self]


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Address:
    text: str
    point: GeoPoint | None = None


@dataclass(frozen=True)
class PartnerProfile:
    """A channel partner's profile (渠道伙伴): agent | distributor, its partner tier and agreement
    (a contract of this account); an empty channel is an ordinary customer."""

    channel: str = ""
    tier: str = ""
    contract_id: str = ""


@dataclass(frozen=True)
class Customer:
    """A customer record. owner_id None means the customer sits in the public pool."""

    id: str
    legal_name: str
    normalised_name: str
    created_at: datetime
    owner_id: str | None
    owner_unit_path: tuple[str, ...] = ()  # org unit ids, root first; the owner's unit last
    credit_code: str | None = None
    industry: str | None = None
    address: Address | None = None
    tier: Tier = Tier.POTENTIAL
    tags: tuple[str, ...] = ()
    source: str | None = None
    contacts: tuple[Contact, ...] = field(default=())
    version: int = 1
    # The rest of the record (stores.customers maps every field to its row and back):
    org_path: str = ""  # the owner's org path as stored ("/c/r1/"); a pool customer keeps the last one
    created_by: str = ""
    updated_at: datetime | None = None
    active: bool = True  # False: merged away or deactivated
    previous_owner_id: str | None = None
    assigned_at: datetime | None = None
    released_at: datetime | None = None
    partner: PartnerProfile = PartnerProfile()
    custom_fields: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def claimed_by(self, owner_id: str, org_path: str, now: datetime) -> Customer:
        """Taken from the pool by `owner_id`, whose org path scopes it from now on."""
        return replace(
            self,
            owner_id=owner_id,
            org_path=org_path,
            owner_unit_path=orgpaths.segments(org_path),
            assigned_at=now,
            updated_at=now,
        )

    def released_to_pool(self, previous_owner_id: str | None, now: datetime) -> Customer:
        """In the public pool; the org path of the last owner stays (whose managers still see it)."""
        return replace(
            self, owner_id=None, previous_owner_id=previous_owner_id, released_at=now, assigned_at=None, updated_at=now
        )


class SharedCustomers(list[Customer]):
    """Customers that are shared objects: the same object for every read of an unchanged stored
    record (the stores' page memo), so what is derived from one (its message) can be remembered by
    the object. Nobody changes a Customer: it is frozen, and its custom_fields are not changed in
    place either."""


# ---------------------------------------------------------------- single-field rules


def validate_legal_name(raw: str) -> str:
    """客户法人全称: required, trimmed, inner whitespace collapsed, at most 200 characters."""
    name = " ".join((raw or "").split())
    if not name:
        raise ValidationFailed("legal name is required", "legal_name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(f"legal name exceeds {MAX_NAME_LENGTH} characters", "legal_name")
    return name


def validate_geo_point(latitude: float, longitude: float, field_prefix: str = "address") -> GeoPoint:
    violations: list[tuple[str, str]] = []
    if not -90.0 <= latitude <= 90.0:
        violations.append((f"{field_prefix}.latitude", "latitude must be between -90 and 90"))
    if not -180.0 <= longitude <= 180.0:
        violations.append((f"{field_prefix}.longitude", "longitude must be between -180 and 180"))
    if violations:
        raise ValidationFailed.many(violations)
    return GeoPoint(latitude, longitude)


def validate_address(text: str, latitude: float | None = None, longitude: float | None = None) -> Address:
    """Coordinates are optional but come as a pair (check-in distance needs both)."""
    clean = " ".join((text or "").split())
    if not clean:
        raise ValidationFailed("address text is required when an address is given", "address.text")
    if len(clean) > MAX_NAME_LENGTH * 2:
        raise ValidationFailed(f"address exceeds {MAX_NAME_LENGTH * 2} characters", "address.text")
    if (latitude is None) != (longitude is None):
        missing = "address.latitude" if latitude is None else "address.longitude"
        raise ValidationFailed("latitude and longitude must be given together", missing)
    point = None if latitude is None or longitude is None else validate_geo_point(latitude, longitude)
    return Address(clean, point)


def normalise_tag(raw: str) -> str:
    """NFKC, case-folded, single spaces: '  ＶＩＰ  Client' and 'vip client' are the same tag."""
    return " ".join(unicodedata.normalize("NFKC", raw).casefold().split())


def normalise_tags(raw: Iterable[str], field_name: str = "tags") -> tuple[str, ...]:
    """Normalised, de-duplicated (first occurrence order kept), empty ones dropped, bounded."""
    result: list[str] = []
    for tag in raw:
        clean = normalise_tag(tag)
        if not clean or clean in result:
            continue
        if len(clean) > MAX_TAG_LENGTH:
            raise ValidationFailed(f"tag '{clean[:20]}…' exceeds {MAX_TAG_LENGTH} characters", field_name)
        result.append(clean)
    if len(result) > MAX_TAGS:
        raise ValidationFailed(f"at most {MAX_TAGS} tags are allowed, got {len(result)}", field_name)
    return tuple(result)


# ---------------------------------------------------------------- customer


def make_customer(
    *,
    id: str,
    legal_name: str,
    created_at: datetime,
    owner_id: str | None,
    owner_unit_path: Sequence[str] = (),
    credit_code: str | None = None,
    industry: str | None = None,
    address: Address | None = None,
    tier: str | Tier = Tier.POTENTIAL,
    tags: Iterable[str] = (),
    source: str | None = None,
    contacts: Sequence[Contact] = (),
    version: int = 1,
    org_path: str = "",
    created_by: str = "",
    custom_fields: Mapping[str, Any] | None = None,
) -> Customer:
    """Validate every field and build a Customer; all violations are reported together. The owner's
    unit path defaults to the segments of `org_path`; a new record was updated, and assigned to
    its owner, when it was created."""
    owner_unit_path = owner_unit_path or orgpaths.segments(org_path)
    violations: list[tuple[str, str]] = []

    def collect(fn: Callable[[Any], T], arg: Any) -> T | None:
        try:
            return fn(arg)
        except ValidationFailed as exc:
            violations.extend(exc.violations)
            return None

    name = collect(validate_legal_name, legal_name)
    code = collect(validate_credit_code, credit_code) if credit_code and credit_code.strip() else None
    clean_tags = collect(normalise_tags, tags) or ()
    collect(check_contacts, contacts)
    clean_industry = optional_text(industry, "industry", violations)
    clean_source = optional_text(source, "source", violations)
    try:
        clean_tier = Tier(tier)
    except ValueError:
        violations.append(("tier", f"tier must be one of {', '.join(t.value for t in Tier)}"))
        clean_tier = Tier.POTENTIAL
    if created_at.tzinfo is None or created_at.utcoffset() is None:
        violations.append(("created_at", "created_at must be timezone-aware"))
    if owner_id is not None and not owner_unit_path:
        violations.append(("owner_unit_path", "an owned customer needs the owner's org unit path"))
    if violations:
        raise ValidationFailed.many(violations)
    assert name is not None
    return Customer(
        id=id,
        legal_name=name,
        normalised_name=normalise_name(name),
        created_at=created_at,
        owner_id=owner_id,
        owner_unit_path=tuple(owner_unit_path),
        credit_code=code,
        industry=clean_industry,
        address=address,
        tier=clean_tier,
        tags=clean_tags,
        source=clean_source,
        contacts=tuple(contacts),
        version=version,
        org_path=org_path,
        created_by=created_by,
        updated_at=created_at,
        assigned_at=created_at if owner_id is not None else None,
        custom_fields=dict(custom_fields or {}),
    )
