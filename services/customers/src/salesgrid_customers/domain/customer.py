"""Customer and contact values and their field rules."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from .credit_code import validate_credit_code
from .dedup import normalise_name
from .errors import ValidationFailed

T = TypeVar("T")

MAX_NAME_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 32
MAX_PHONES = 5
MAX_TEXT_LENGTH = 200
MAX_CONTACTS = 200


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
class Contact:
    id: str
    full_name: str
    title: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    primary: bool = False


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


_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE_BODY = re.compile(r"\+?\d{5,15}")
_EXTENSION = re.compile(r"^(?P<number>.+?)(?:ext\.?|x|#|转)\s*(?P<ext>\d{1,6})$", re.IGNORECASE)


def normalise_phone(raw: str, field_name: str = "phone") -> str:
    """Loose validation: digits with an optional leading '+', 5-15 digits, optional extension.

    Separators (spaces, hyphens, dots, brackets) are removed; '00' international prefix becomes '+';
    '+86' mobile numbers keep their prefix. An extension is kept as ';ext=NNN' (RFC 3966 style).
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        raise ValidationFailed("phone number is empty", field_name)
    extension = ""
    match = _EXTENSION.match(text)
    if match:
        text, extension = match.group("number"), f";ext={match.group('ext')}"
    compact = _PHONE_SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _PHONE_BODY.fullmatch(compact):
        raise ValidationFailed(f"'{raw}' is not a phone number", field_name)
    return compact + extension


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def validate_email(raw: str, field_name: str = "email") -> str:
    """Loose shape check; the domain part is lower-cased (local parts may be case-sensitive)."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if len(text) > 254 or not _EMAIL.match(text) or ".." in text:
        raise ValidationFailed(f"'{raw}' is not an e-mail address", field_name)
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _optional_text(raw: str | None, field_name: str, violations: list[tuple[str, str]]) -> str | None:
    if raw is None:
        return None
    clean = " ".join(raw.split())
    if len(clean) > MAX_TEXT_LENGTH:
        violations.append((field_name, f"must be at most {MAX_TEXT_LENGTH} characters"))
    return clean or None


# ---------------------------------------------------------------- contacts


def make_contact(
    id: str,
    full_name: str,
    *,
    title: str | None = None,
    phones: Sequence[str] = (),
    email: str | None = None,
    primary: bool = False,
    field_prefix: str = "contact",
) -> Contact:
    """Build a contact, collecting every violation (field names are prefixed, e.g. contacts[2].email)."""
    violations: list[tuple[str, str]] = []
    name = " ".join((full_name or "").split())
    if not name:
        violations.append((f"{field_prefix}.full_name", "full name is required"))
    elif len(name) > MAX_TEXT_LENGTH:
        violations.append((f"{field_prefix}.full_name", f"must be at most {MAX_TEXT_LENGTH} characters"))
    clean_title = _optional_text(title, f"{field_prefix}.title", violations)
    clean_phones: list[str] = []
    for i, phone in enumerate(phones):
        try:
            number = normalise_phone(phone, f"{field_prefix}.phones[{i}]")
        except ValidationFailed as exc:
            violations.extend(exc.violations)
            continue
        if number not in clean_phones:
            clean_phones.append(number)
    if len(clean_phones) > MAX_PHONES:
        violations.append((f"{field_prefix}.phones", f"at most {MAX_PHONES} phone numbers"))
    clean_email: str | None = None
    if email is not None and email.strip():
        try:
            clean_email = validate_email(email, f"{field_prefix}.email")
        except ValidationFailed as exc:
            violations.extend(exc.violations)
    if violations:
        raise ValidationFailed.many(violations)
    return Contact(id, name, clean_title, tuple(clean_phones), clean_email, primary)


def check_contacts(contacts: Sequence[Contact]) -> None:
    """At most one primary contact, unique ids, bounded count."""
    if len(contacts) > MAX_CONTACTS:
        raise ValidationFailed(f"at most {MAX_CONTACTS} contacts per customer", "contacts")
    ids = [c.id for c in contacts]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("contact ids must be unique", "contacts")
    primaries = [c.id for c in contacts if c.primary]
    if len(primaries) > 1:
        raise ValidationFailed(
            f"at most one primary contact, got {len(primaries)}: {', '.join(primaries)}", "contacts.primary"
        )


def set_primary_contact(contacts: Sequence[Contact], contact_id: str) -> tuple[Contact, ...]:
    """Make one contact primary and demote the previous one (the usual UI action)."""
    if contact_id not in {c.id for c in contacts}:
        raise ValidationFailed(f"contact {contact_id} does not belong to this customer", "contact_id")
    return tuple(replace(c, primary=c.id == contact_id) for c in contacts)


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
) -> Customer:
    """Validate every field and build a Customer; all violations are reported together."""
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
    clean_industry = _optional_text(industry, "industry", violations)
    clean_source = _optional_text(source, "source", violations)
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
    )
