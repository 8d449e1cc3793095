"""Custom field values: validation into canonical JSON, a record's write (merge), the index
tokens list filters compare, and the text form of imports and exports (see definitions.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from salesgrid_common.currencies import AMOUNT_WHOLE_DIGITS, parse_amount, validate_currency
from salesgrid_common.custom_fields.definitions import (
    COLUMN_PREFIX,
    FALSE_TEXT,
    NUMBER_DIGITS,
    TEXT_MAX,
    TOKEN_MAX,
    TRUE_TEXT,
    FieldDefinition,
    FieldType,
)
from salesgrid_common.errors import DomainError, ValidationFailed


MONEY_WHOLE_DIGITS = AMOUNT_WHOLE_DIGITS


def _decimal_text(value: Decimal) -> str:
    with localcontext() as context:  # normalize() rounds to the context's precision (28 by default)
        context.prec = 2 * NUMBER_DIGITS
        text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _number(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationFailed("must be a number", field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationFailed(f"must be a number, got {value!r}", field) from None
    if not _fits(number):
        raise ValidationFailed(f"must be a finite number of at most {NUMBER_DIGITS} digits", field)
    if isinstance(value, float) and abs(value) >= 2**53:  # a JSON number this large has lost digits already
        raise ValidationFailed("numbers of 2^53 and more lose digits as JSON numbers: send a decimal string", field)
    return _decimal_text(number)


def _fits(number: Decimal) -> bool:
    """At most NUMBER_DIGITS significant digits, magnitude within 10^±NUMBER_DIGITS: the stored text
    and its index token stay short whatever the exponent, and nothing is ever rounded."""
    return (
        number.is_finite()
        and len(number.as_tuple().digits) <= NUMBER_DIGITS
        and -NUMBER_DIGITS <= number.adjusted() < NUMBER_DIGITS
    )


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
    try:
        parsed = Decimal(str(amount).strip())
        too_long = not _fits(parsed) or parsed.adjusted() >= MONEY_WHOLE_DIGITS
    except InvalidOperation:
        too_long = False  # parse_amount names the bad text
    if too_long:  # (parse_amount's quantize would also fail past the default 28-digit precision)
        raise ValidationFailed(
            f"must be an amount of at most {MONEY_WHOLE_DIGITS} digits before the point", f"{field}.amount"
        )
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


def merge_values(
    definitions: Iterable[FieldDefinition],
    current: Mapping[str, Any],
    incoming: Mapping[str, Any] | None,
    *,
    business_line: str = "",
    creating: bool = False,
    prefix: str = "custom_fields",
) -> dict[str, Any]:
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
    given = dict(incoming or {})
    for definition in by_key.values():
        key = definition.key
        if (
            definition.active
            and definition.required
            and definition.applies_to(business_line)
            and key not in merged
            and (creating or key in given)
            and is_empty(given.get(key))
        ):  # a bad value given is reported as such, not as missing
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
    return {
        name.removeprefix(COLUMN_PREFIX): value for name, value in filters.items() if name.startswith(COLUMN_PREFIX)
    }


def parse_text(definition: FieldDefinition, raw: str, field: str) -> Any:
    """A value from a text cell (imports): empty is no value; otherwise normalised by type."""
    return None if not raw.strip() else normalise_value(definition, raw, field)
