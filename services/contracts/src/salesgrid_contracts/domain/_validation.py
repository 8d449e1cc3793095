"""Small input checks shared by the modules of this package (private)."""

from __future__ import annotations

from datetime import date, datetime

from .errors import ValidationFailed


def require_text(value: object, field: str, *, max_length: int = 200) -> str:
    """A non-blank string, stripped, at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("is required", field)
    text = value.strip()
    if len(text) > max_length:
        raise ValidationFailed(f"must be at most {max_length} characters", field)
    return text


def require_aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime (naive ones are ambiguous across branches' zones)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed("must be a timezone-aware datetime", field)
    return value


def require_date(value: object, field: str) -> date:
    """A calendar date (a datetime is refused: it would silently carry a time and zone)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed("must be a date", field)
    return value
