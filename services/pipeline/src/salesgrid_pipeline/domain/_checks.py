"""Small input checks shared by the pipeline rules; each returns ``(field, message)`` violations."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from .errors import ValidationFailed


def normalise_key(text: str) -> str:
    """Comparison key: full/half width folded (NFKC), case folded, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_text(value: object, field: str, *, max_length: int, required: bool = True) -> list[tuple[str, str]]:
    """Violations of a text value that is trimmed before use."""
    if value is None:
        return [(field, "is required")] if required else []
    if not isinstance(value, str):
        return [(field, "must be text")]
    trimmed = value.strip()
    if required and not trimmed:
        return [(field, "is required")]
    if len(trimmed) > max_length:
        return [(field, f"must be at most {max_length} characters")]
    return []


def require_text(value: object, field: str, *, max_length: int) -> str:
    """The trimmed text, or ``ValidationFailed`` naming ``field``."""
    problems = check_text(value, field, max_length=max_length)
    if problems:
        raise ValidationFailed.many(problems)
    assert isinstance(value, str)
    return value.strip()


def require_aware(moment: datetime, field: str = "now") -> datetime:
    """Reject naive datetimes: every instant in the domain is timezone-aware."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationFailed("must be a timezone-aware datetime", field)
    return moment
