"""Custom field definitions: the field types and the rules of defining and changing a field (pure).

A value is stored as canonical JSON: text, choice, date (YYYY-MM-DD) and user (a user id) as
strings, number as a decimal string (never a float), money as {"amount": "12.50", "currency":
"CNY"}, multi-choice as a sorted list of options, boolean as true/false. Each stored value has
index tokens (strings) which list filters compare for equality: a multi-choice value has one
token per option, so `contains` is equality against one token."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum

from salesgrid_common.errors import ValidationFailed

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLUMN_PREFIX = "cf_"  # list query parameters, export filters and columns, import columns: cf_<key>
LABEL_MAX = 200
TEXT_MAX = 1000
OPTION_MAX = 100  # characters of one option
OPTIONS_MAX = 200  # options of one field
TOKEN_MAX = 200  # characters of an index token (text is compared on its first 200, case-folded)
NUMBER_DIGITS = 30
TRUE_TEXT = frozenset({"true", "yes", "1", "y", "是"})
FALSE_TEXT = frozenset({"false", "no", "0", "n", "否"})


class FieldType(str, Enum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    USER = "user"
    BOOLEAN = "boolean"


CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTI_CHOICE})


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    """One field of an entity. business_lines empty: every record; else only records of those
    business lines (for opportunities and leads, their stage model). An archived field
    (active False) takes no new values; the values stored keep being read, filtered and exported."""

    entity: str
    key: str
    label: str
    type: FieldType
    required: bool = False
    options: tuple[str, ...] = ()
    business_lines: tuple[str, ...] = ()
    active: bool = True
    version: int = 1

    def applies_to(self, business_line: str) -> bool:
        return not self.business_lines or business_line in self.business_lines


def _options(field_type: FieldType, options: Sequence[str]) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    cleaned = tuple(str(o).strip() for o in options)
    if field_type not in CHOICE_TYPES:
        return (), ([("options", "apply only to choice and multi_choice fields")] if cleaned else [])
    problems = []
    if not cleaned:
        problems.append(("options", "a choice field needs at least one option"))
    if len(cleaned) > OPTIONS_MAX:
        problems.append(("options", f"at most {OPTIONS_MAX} options"))
    if any(not o or len(o) > OPTION_MAX or "|" in o or ";" in o for o in cleaned):
        problems.append(("options", f"each option is 1-{OPTION_MAX} characters without | or ;"))
    if len(set(cleaned)) != len(cleaned):
        problems.append(("options", "lists the same option twice"))
    return cleaned, problems


def _business_lines(lines: Sequence[str], allowed: bool) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    cleaned = tuple(sorted({str(line).strip() for line in lines if str(line).strip()}))
    if cleaned and not allowed:
        return (), [("business_lines", "this entity has no business lines")]
    return cleaned, []


def make_definition(
    entity: str,
    key: str,
    label: str,
    field_type: str,
    *,
    required: bool = False,
    options: Sequence[str] = (),
    business_lines: Sequence[str] = (),
    business_lines_allowed: bool = False,
) -> FieldDefinition:
    problems: list[tuple[str, str]] = []
    key = (key or "").strip()
    if not KEY.match(key):
        problems.append(("key", "must be snake_case: a lowercase letter, then up to 39 letters, digits or _"))
    label = (label or "").strip()
    if not label or len(label) > LABEL_MAX:
        problems.append(("label", f"is required, at most {LABEL_MAX} characters"))
    try:
        kind = FieldType(field_type)
    except ValueError:
        raise ValidationFailed.many(
            [*problems, ("type", f"must be one of {', '.join(t.value for t in FieldType)}")]
        ) from None
    cleaned, option_problems = _options(kind, options)
    lines, line_problems = _business_lines(business_lines, business_lines_allowed)
    problems += option_problems + line_problems
    if problems:
        raise ValidationFailed.many(problems)
    return FieldDefinition(entity, key, label, kind, bool(required), cleaned, lines)


def change_definition(
    current: FieldDefinition,
    *,
    label: str | None = None,
    required: bool | None = None,
    options: Sequence[str] | None = None,
    business_lines: Sequence[str] | None = None,
    business_lines_allowed: bool = False,
) -> FieldDefinition:
    """The type and key never change (stored values would no longer match). Options may be added
    or reordered, never removed: a stored value would name an option that no longer exists."""
    problems: list[tuple[str, str]] = []
    changed = current
    if label is not None:
        if not label.strip() or len(label.strip()) > LABEL_MAX:
            problems.append(("label", f"is required, at most {LABEL_MAX} characters"))
        changed = replace(changed, label=label.strip())
    if required is not None:
        changed = replace(changed, required=bool(required))
    if options is not None:
        cleaned, option_problems = _options(current.type, options)
        removed = sorted(set(current.options) - set(cleaned))
        if removed:
            option_problems.append(("options", f"options cannot be removed (stored values may use them): {removed}"))
        problems += option_problems
        changed = replace(changed, options=cleaned)
    if business_lines is not None:
        lines, line_problems = _business_lines(business_lines, business_lines_allowed)
        problems += line_problems
        changed = replace(changed, business_lines=lines)
    if problems:
        raise ValidationFailed.many(problems)
    return replace(changed, version=current.version + 1)
