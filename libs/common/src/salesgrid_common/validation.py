"""Input checks for domain rules (part of the pure shared kernel): `Violations` collects every
bad field of a request and raises once (ValidationFailed.many); the `require_*` functions check
one value and raise at once. Both name the field, as the gateway's problem+json does."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal

from salesgrid_common.errors import ValidationFailed

MAX_ID_LENGTH = 128

# Stable codes of the common field checks (problem+json `errors[].code`, FieldViolation.reason).
REQUIRED = "REQUIRED"
TOO_LONG = "TOO_LONG"
INVALID_FORMAT = "INVALID_FORMAT"
OUT_OF_RANGE = "OUT_OF_RANGE"


class Coded(str):
    """A violation message that carries its stable code: still the plain ``str`` of a
    ``(field, message)`` pair wherever violations are collected, combined or compared."""

    code: str

    def __new__(cls, message: str, code: str = "") -> "Coded":  # "": unpickling restores it
        made = super().__new__(cls, message)
        made.code = code
        return made


def violation_code(message: str) -> str:
    """The stable code of a violation message, "" when the check that made it gave none."""
    return getattr(message, "code", "")


class Violations:
    """Collects ``(field, message)`` pairs so one error reports every bad field."""

    def __init__(self) -> None:
        self._items: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self._items.append((field, message))

    def __bool__(self) -> bool:
        return bool(self._items)

    @property
    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise ValidationFailed.many(self._items)

    def text(self, value: object, field: str, *, max_length: int, required: bool) -> str | None:
        """Stripped text, ``None`` when blank and optional."""
        if value is None:
            if required:
                self.add(field, Coded("is required", REQUIRED))
            return None
        if not isinstance(value, str):
            self.add(field, Coded("must be text", INVALID_FORMAT))
            return None
        cleaned = value.strip()
        if not cleaned:
            if required:
                self.add(field, Coded("is required", REQUIRED))
            return None
        if len(cleaned) > max_length:
            self.add(field, Coded(f"must be at most {max_length} characters", TOO_LONG))
            return None
        return cleaned

    def identifier(self, value: object, field: str, *, required: bool) -> str | None:
        return self.text(value, field, max_length=MAX_ID_LENGTH, required=required)

    def instant(self, value: object, field: str, *, required: bool = True) -> datetime | None:
        """A timezone-aware datetime, normalised to UTC."""
        if value is None:
            if required:
                self.add(field, Coded("is required", REQUIRED))
            return None
        if not isinstance(value, datetime):
            self.add(field, Coded("must be a datetime", INVALID_FORMAT))
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            self.add(field, Coded("must be timezone-aware", INVALID_FORMAT))
            return None
        return value.astimezone(UTC)

    def number(self, value: object, field: str) -> float | None:
        """A finite real number (bools are refused: they are a frequent client mistake)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            self.add(field, Coded("must be a number", INVALID_FORMAT))
            return None
        number = float(value)
        if not math.isfinite(number):
            self.add(field, Coded("must be a finite number", OUT_OF_RANGE))
            return None
        return number


def require_instant(value: object, field: str) -> datetime:
    """Single-field form of :meth:`Violations.instant` for rule functions taking ``now``."""
    violations = Violations()
    result = violations.instant(value, field)
    violations.raise_if_any()
    assert result is not None
    return result


def require_text(value: object, field: str, *, max_length: int = 200) -> str:
    """A non-blank string, stripped, at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(Coded("is required", REQUIRED), field)
    text = value.strip()
    if len(text) > max_length:
        raise ValidationFailed(Coded(f"must be at most {max_length} characters", TOO_LONG), field)
    return text


def require_aware(value: object, field: str) -> datetime:
    """A timezone-aware datetime (naive ones are ambiguous across branches' zones)."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(Coded("must be a timezone-aware datetime", INVALID_FORMAT), field)
    return value


def require_date(value: object, field: str) -> date:
    """A calendar date (a datetime is refused: it would silently carry a time and zone)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed(Coded("must be a date", INVALID_FORMAT), field)
    return value


def check_text(value: object, field: str, *, max_length: int, required: bool = True) -> list[tuple[str, str]]:
    """The violations of a text value that is trimmed before use (for rules that add up lists)."""
    violations = Violations()
    violations.text(value, field, max_length=max_length, required=required)
    return violations.items


def check_decimal(value: object, field: str, *, allow_negative: bool = False) -> list[tuple[str, str]]:
    """The violations of a monetary or quantity Decimal: finite, and not negative unless allowed
    (floats and bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, Decimal):
        return [(field, Coded("must be a Decimal (never a float)", INVALID_FORMAT))]
    if not value.is_finite():
        return [(field, Coded("must be a finite number", OUT_OF_RANGE))]
    if not allow_negative and value < 0:
        return [(field, Coded("must not be negative", OUT_OF_RANGE))]
    return []
