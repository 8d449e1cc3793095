"""Custom field definitions and values: the pure rules (no database, no gRPC).

A value is stored as canonical JSON: text, choice, date (YYYY-MM-DD) and user (a user id) as
strings, number as a decimal string (never a float), money as {"amount": "12.50", "currency":
"CNY"}, multi-choice as a sorted list of options, boolean as true/false. Each stored value has
index tokens (strings) which list filters compare for equality: a multi-choice value has one
token per option, so `contains` is equality against one token."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from salesgrid_common.currencies import parse_amount, validate_currency
from salesgrid_common.errors import DomainError, ValidationFailed

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


def make_definition(entity: str, key: str, label: str, field_type: str, *, required: bool = False,
                    options: Sequence[str] = (), business_lines: Sequence[str] = (),
                    business_lines_allowed: bool = False) -> FieldDefinition:
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
        raise ValidationFailed.many([*problems, ("type", f"must be one of {', '.join(t.value for t in FieldType)}")])
    cleaned, option_problems = _options(kind, options)
    lines, line_problems = _business_lines(business_lines, business_lines_allowed)
    problems += option_problems + line_problems
    if problems:
        raise ValidationFailed.many(problems)
    return FieldDefinition(entity, key, label, kind, bool(required), cleaned, lines)


def change_definition(current: FieldDefinition, *, label: str | None = None, required: bool | None = None,
                      options: Sequence[str] | None = None, business_lines: Sequence[str] | None = None,
                      business_lines_allowed: bool = False) -> FieldDefinition:
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


def _decimal_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _number(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationFailed("must be a number", field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"must be a number, got {value!r}", field) from None
    if not number.is_finite() or len(number.as_tuple().digits) > NUMBER_DIGITS:
        raise ValidationFailed(f"must be a finite number of at most {NUMBER_DIGITS} digits", field)
    return _decimal_text(number)


def _money(value: object, field: str) -> dict[str, str]:
    if isinstance(value, str):  # "12.50 CNY" or "CNY 12.50" (imports, filters)
        parts = value.split()
        if len(parts) != 2:
            raise ValidationFailed("must be an amount and a currency, e.g. 12.50 CNY", field)
        amount, currency = (parts[1], parts[0]) if parts[0].isalpha() else (parts[0], parts[1])
        value = {"amount": amount, "currency": currency.upper()}
    if not isinstance(value, Mapping) or set(value) != {"amount", "currency"}:
        raise ValidationFailed('must be {"amount": "12.50", "currency": "CNY"}', field)
    currency = validate_currency(value["currency"], f"{field}.currency")
    amount = value["amount"]
    if isinstance(amount, bool) or not isinstance(amount, (str, int, float)):
        raise ValidationFailed("must be a decimal amount such as 12.50", f"{field}.amount")
    return {"amount": str(parse_amount(amount, currency, f"{field}.amount")), "currency": currency}


def _date(value: object, field: str) -> str:
    if type(value) is date:
        return value.isoformat()
    try:
        if isinstance(value, str):
            return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        pass
    raise ValidationFailed(f"must be a date YYYY-MM-DD, got {value!r}", field)


def _options_value(definition: FieldDefinition, value: object, field: str) -> list[str]:
    if isinstance(value, str):  # imports and filters: "a|b" or "a;b"
        value = [part for part in re.split(r"[|;]", value) if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed("must be a list of options", field)
    chosen = sorted({v.strip() for v in value})
    unknown = [v for v in chosen if v not in definition.options]
    if unknown:
        raise ValidationFailed(f"unknown option {unknown[0]!r}; options: {', '.join(definition.options)}", field)
    return chosen


def normalise_value(definition: FieldDefinition, value: object, field: str) -> Any:
    """The canonical stored form of `value` (see the module doc), or ValidationFailed naming field."""
    match definition.type:
        case FieldType.TEXT:
            if not isinstance(value, str) or not value.strip() or len(value.strip()) > TEXT_MAX:
                raise ValidationFailed(f"must be non-empty text of at most {TEXT_MAX} characters", field)
            return value.strip()
        case FieldType.NUMBER:
            return _number(value, field)
        case FieldType.MONEY:
            return _money(value, field)
        case FieldType.DATE:
            return _date(value, field)
        case FieldType.CHOICE:
            if not isinstance(value, str) or value.strip() not in definition.options:
                raise ValidationFailed(f"must be one of: {', '.join(definition.options)}", field)
            return value.strip()
        case FieldType.MULTI_CHOICE:
            return _options_value(definition, value, field)
        case FieldType.USER:
            if not isinstance(value, str) or not value.strip() or len(value.strip()) > 36:
                raise ValidationFailed("must be a user id", field)
            return value.strip()
        case FieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in TRUE_TEXT | FALSE_TEXT:
                return value.strip().lower() in TRUE_TEXT
            raise ValidationFailed("must be true or false", field)
    raise ValidationFailed(f"unsupported field type {definition.type!r}", field)


def is_empty(value: object) -> bool:
    """null, "" and [] clear a field (a cleared field has no stored value)."""
    return value is None or value == "" or value == [] or value == ()


def merge_values(definitions: Iterable[FieldDefinition], current: Mapping[str, Any],
                 incoming: Mapping[str, Any] | None, *, business_line: str = "", creating: bool = False,
                 prefix: str = "custom_fields") -> dict[str, Any]:
    """The record's values after a write of `incoming` (keys given are set; an empty value clears
    one). Unknown, archived and inapplicable keys are refused, every value is validated, and a
    required field applying to the record must be filled when the record is created, and cannot
    be cleared later. Stored values of archived fields are kept untouched."""
    by_key = {d.key: d for d in definitions}
    merged = dict(current)
    problems: list[tuple[str, str]] = []
    for key, value in (incoming or {}).items():
        field = f"{prefix}.{key}"
        definition = by_key.get(key)
        if definition is None:
            problems.append((field, "is not a custom field of this record"))
            continue
        if not definition.active:
            problems.append((field, "is archived and takes no new values"))
            continue
        if is_empty(value):
            merged.pop(key, None)
            continue
        if not definition.applies_to(business_line):
            problems.append((field, f"does not apply to business line {business_line or '(none)'!r}"))
            continue
        try:
            merged[key] = normalise_value(definition, value, field)
        except DomainError as error:
            problems += error.violations or [(field, error.message)]
    touched = set(incoming or {})
    for definition in by_key.values():
        if (definition.active and definition.required and definition.applies_to(business_line)
                and definition.key not in merged and (creating or definition.key in touched)):
            problems.append((f"{prefix}.{definition.key}", "is required"))
    if problems:
        raise ValidationFailed.many(problems)
    return merged


def user_keys(definitions: Iterable[FieldDefinition], values: Mapping[str, Any]) -> dict[str, str]:
    """key -> user id of the user fields set in `values` (the caller checks the users exist)."""
    return {d.key: values[d.key] for d in definitions if d.type is FieldType.USER and d.key in values}


def index_tokens(definition: FieldDefinition, value: Any) -> list[str]:
    """The strings a filter compares against for a stored value (one per option of a multi-choice)."""
    match definition.type:
        case FieldType.TEXT:
            return [str(value).casefold()[:TOKEN_MAX]]
        case FieldType.MONEY:
            return [f"{value['currency']} {_decimal_text(Decimal(value['amount']))}"]
        case FieldType.MULTI_CHOICE:
            return list(value)
        case FieldType.BOOLEAN:
            return ["true" if value else "false"]
        case _:
            return [str(value)]


def filter_token(definition: FieldDefinition, raw: str, field: str) -> str:
    """The token a filter text matches: the text parsed as a value of the field's type. A
    multi-choice filter names one option (records whose value contains it)."""
    if definition.type is FieldType.MULTI_CHOICE:
        return _options_value(definition, [raw], field)[0]
    if definition.type is FieldType.TEXT:
        return raw.strip().casefold()[:TOKEN_MAX]
    return index_tokens(definition, normalise_value(definition, raw, field))[0]


def cell_text(value: Any) -> str:
    """A stored value as one export cell, in the form an import reads back (cf_<key> columns)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return f"{value['amount']} {value['currency']}"
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


def custom_filters(filters: Mapping[str, str]) -> dict[str, str]:
    """key -> value of the cf_<key> entries of a filter map (export filters, query parameters)."""
    return {name.removeprefix(COLUMN_PREFIX): value for name, value in filters.items()
            if name.startswith(COLUMN_PREFIX)}


def parse_text(definition: FieldDefinition, raw: str, field: str) -> Any:
    """A value from a text cell (imports): empty is no value; otherwise normalised by type."""
    return None if not raw.strip() else normalise_value(definition, raw, field)
