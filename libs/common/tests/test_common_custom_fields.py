"""Custom field definitions and values: the pure rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from salesgrid_common.custom_fields.definitions import FieldType, change_definition, make_definition
from salesgrid_common.custom_fields.values import filter_token, index_tokens, merge_values, normalise_value, parse_text
from salesgrid_common.errors import ValidationFailed


def field(key: str, kind: str, **kw):  # type: ignore[no-untyped-def]
    return make_definition("customers", key, key.title(), kind, **kw)


def violations(error: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return dict(error.value.violations)


def test_definition_rules_name_each_field() -> None:
    with pytest.raises(ValidationFailed) as error:
        make_definition("customers", "Bad Key", "", "choice")
    assert set(violations(error)) == {"key", "label", "options"}
    with pytest.raises(ValidationFailed) as error:
        make_definition("customers", "k", "K", "colour")
    assert "type" in violations(error)
    with pytest.raises(ValidationFailed) as error:
        make_definition("customers", "k", "K", "text", options=["a"])
    assert "options" in violations(error)
    with pytest.raises(ValidationFailed) as error:
        make_definition("customers", "k", "K", "choice", options=["a", "a"])
    assert violations(error)["options"] == "lists the same option twice"
    with pytest.raises(ValidationFailed) as error:
        make_definition("customers", "k", "K", "text", business_lines=["default"])
    assert "business_lines" in violations(error)
    assert make_definition(
        "opportunities", "k", "K", "text", business_lines=["b", "a", "a"], business_lines_allowed=True
    ).business_lines == ("a", "b")


def test_changes_keep_type_and_never_drop_options() -> None:
    d = field("size", "choice", options=["s", "m"])
    changed = change_definition(d, options=["l", "s", "m"], required=True)
    assert changed.options == ("l", "s", "m") and changed.required and changed.version == 2
    with pytest.raises(ValidationFailed) as error:
        change_definition(d, options=["s"])
    assert "cannot be removed" in violations(error)["options"]


@pytest.mark.parametrize(
    "kind, given, stored",
    [
        ("text", "  hello ", "hello"),
        ("number", "12.500", "12.5"),
        ("number", 3.0, "3"),
        ("number", "1E+3", "1000"),
        ("number", "1" * 30, "1" * 30),  # 30 digits: never rounded
        ("number", "-0.000001", "-0.000001"),
        ("money", {"amount": "12.5", "currency": "CNY"}, {"amount": "12.50", "currency": "CNY"}),
        ("money", "12.5 CNY", {"amount": "12.50", "currency": "CNY"}),
        ("money", "JPY 300", {"amount": "300", "currency": "JPY"}),
        ("money", "9" * 20 + ".99 CNY", {"amount": "9" * 20 + ".99", "currency": "CNY"}),
        ("date", "2026-12-04", "2026-12-04"),
        ("date", date(2026, 1, 2), "2026-01-02"),
        ("user", "u1", "u1"),
        ("boolean", True, True),
        ("boolean", "是", True),
        ("boolean", "no", False),
    ],
)
def test_values_are_stored_in_canonical_form(kind: str, given: object, stored: object) -> None:
    assert normalise_value(field("f", kind), given, "custom_fields.f") == stored


@pytest.mark.parametrize(
    "kind, given",
    [
        ("text", ""),
        ("text", "x" * 1001),
        ("number", "abc"),
        ("number", True),
        ("number", "NaN"),
        ("number", "1E+30"),
        ("number", 1e20),
        ("number", "9" * 31),
        ("number", "1E-400"),
        ("money", {"amount": "1E+1000", "currency": "CNY"}),
        ("money", "1E-400 CNY"),
        ("money", "1" * 27 + " CNY"),
        ("money", {"amount": "1.234", "currency": "CNY"}),
        ("money", {"amount": "1", "currency": "XXY"}),
        ("money", "12"),
        ("date", "2026-13-01"),
        ("date", "yesterday"),
        ("user", ""),
        ("boolean", "maybe"),
        ("boolean", 1),
    ],
)
def test_bad_values_are_refused_naming_the_field(kind: str, given: object) -> None:
    with pytest.raises(ValidationFailed) as error:
        normalise_value(field("f", kind), given, "custom_fields.f")
    assert all(name.startswith("custom_fields.f") for name in violations(error))


def test_choices() -> None:
    single = field("size", "choice", options=["s", "m"])
    multi = field("regions", "multi_choice", options=["north", "south", "east"])
    assert normalise_value(single, "m", "f") == "m"
    assert normalise_value(multi, ["south", "north", "south"], "f") == ["north", "south"]
    assert normalise_value(multi, "east|north", "f") == ["east", "north"]
    for d, bad in ((single, "xl"), (multi, ["west"]), (multi, "north"[:0] + "west")):
        with pytest.raises(ValidationFailed):
            normalise_value(d, bad, "f")
    assert index_tokens(multi, ["north", "south"]) == ["north", "south"]
    assert filter_token(multi, "south", "f") == "south"


def test_merge_required_unknown_archived_and_business_lines() -> None:
    region = field("region", "choice", options=["n", "s"], required=True)
    note = field("note", "text")
    old = replace(field("old", "text"), active=False)
    lined = make_definition(
        "opportunities", "tender", "Tender", "text", business_lines=["gov"], business_lines_allowed=True, required=True
    )
    defs = [region, note, old]
    with pytest.raises(ValidationFailed) as error:
        merge_values(defs, {}, {"note": "x"}, creating=True)
    assert violations(error) == {"custom_fields.region": "is required"}
    with pytest.raises(ValidationFailed) as error:
        merge_values(defs, {}, {"region": "n", "nope": 1, "old": "x"}, creating=True)
    assert set(violations(error)) == {"custom_fields.nope", "custom_fields.old"}
    # archived values stay; an update leaving a required field alone is fine, clearing it is not
    stored = merge_values(defs, {"region": "n", "old": "kept"}, {"note": "hi"})
    assert stored == {"region": "n", "old": "kept", "note": "hi"}
    assert merge_values(defs, stored, {"note": None}) == {"region": "n", "old": "kept"}
    with pytest.raises(ValidationFailed) as error:
        merge_values(defs, stored, {"region": None})
    assert violations(error) == {"custom_fields.region": "is required"}
    # a field limited to business lines: required only there, refused elsewhere
    assert merge_values([lined], {}, {}, business_line="default", creating=True) == {}
    with pytest.raises(ValidationFailed):
        merge_values([lined], {}, {}, business_line="gov", creating=True)
    with pytest.raises(ValidationFailed) as error:
        merge_values([lined], {}, {"tender": "x"}, business_line="default")
    assert "does not apply" in violations(error)["custom_fields.tender"]


def test_tokens_and_filters_agree() -> None:
    money = field("budget", "money")
    text = field("note", "text")
    number = field("n", "number")
    assert index_tokens(money, normalise_value(money, "12.5 CNY", "f")) == [filter_token(money, "CNY 12.50", "f")]
    assert index_tokens(text, "Hello") == [filter_token(text, " HELLO ", "f")]
    assert index_tokens(number, "12.5") == [filter_token(number, "12.50", "f")]
    assert filter_token(field("b", "boolean"), "yes", "f") == "true"
    assert parse_text(text, "  ", "f") is None
    assert FieldType("multi_choice") is FieldType.MULTI_CHOICE
