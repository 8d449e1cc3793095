"""Contacts of a customer and their field rules (phones, e-mail)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .errors import ValidationFailed

MAX_PHONES = 5
MAX_TEXT_LENGTH = 200
MAX_CONTACTS = 200


@dataclass(frozen=True)
class Contact:
    id: str
    full_name: str
    title: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    primary: bool = False
    # The rest of the record (stores.contacts maps every field to its row and back):
    customer_id: str = ""
    created_at: datetime | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict, hash=False)


def optional_text(raw: str | None, field_name: str, violations: list[tuple[str, str]]) -> str | None:
    if raw is None:
        return None
    clean = " ".join(raw.split())
    if len(clean) > MAX_TEXT_LENGTH:
        violations.append((field_name, f"must be at most {MAX_TEXT_LENGTH} characters"))
    return clean or None


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
    clean_title = optional_text(title, f"{field_prefix}.title", violations)
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
