from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import Conflict, ValidationFailed
from salesgrid_pipeline.domain.money import Money
from salesgrid_pipeline.domain.opportunities import (
    Competitor,
    OpportunityInput,
    OpportunityProduct,
    name_taken,
    validate_opportunity,
)

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
GOOD = OpportunityInput(
    customer_id="cust-1",
    name="  第一医院 信息化改造  ",
    amount=Money(Decimal("500000"), "CNY"),
    expected_close_date=date(2024, 12, 31),
    competitors=(Competitor(" Acme ", "cheap", Money(Decimal("450000"), "CNY")),),
    products=(OpportunityProduct("p-1", Decimal("2")),),
)


def violations(data: OpportunityInput) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        validate_opportunity(data, [], NOW)
    return [f for f, _ in info.value.violations]


def test_valid_input_is_trimmed() -> None:
    result = validate_opportunity(GOOD, ["另一个商机"], NOW)
    assert result.name == "第一医院 信息化改造"
    assert result.competitors[0].name == "Acme"


@pytest.mark.parametrize("name", ["", "   ", None, "x" * 201])
def test_name_required_and_at_most_200(name: object) -> None:
    assert violations(replace(GOOD, name=name)) == ["name"]


def test_name_of_exactly_200_after_trim_is_fine() -> None:
    assert validate_opportunity(replace(GOOD, name=" " + "x" * 200 + " "), [], NOW).name == "x" * 200


@pytest.mark.parametrize("existing", ["第一医院 信息化改造", "第一医院   信息化改造", "ＡＢＣ", "abc"])
def test_name_unique_per_customer_ignoring_case_width_and_spacing(existing: str) -> None:
    data = GOOD if "医院" in existing else replace(GOOD, name="Abc")
    with pytest.raises(Conflict) as info:
        validate_opportunity(data, [existing], NOW)
    assert info.value.field == "name"


def test_name_taken_is_false_for_different_names() -> None:
    assert not name_taken("Phase 2", ["Phase 1", "phase  1"])


def test_amount_must_be_non_negative_with_known_currency() -> None:
    assert violations(replace(GOOD, amount=Money(Decimal("-0.01"), "CNY"))) == ["amount.amount"]
    assert violations(replace(GOOD, amount=Money(Decimal("1"), "RMB"))) == ["amount.currency"]
    assert violations(replace(GOOD, amount=Decimal("1"))) == ["amount"]  # type: ignore[arg-type]
    assert validate_opportunity(replace(GOOD, amount=Money(Decimal("0"), "CNY")), [], NOW)


def test_expected_close_date_may_not_be_more_than_365_days_past() -> None:
    assert validate_opportunity(replace(GOOD, expected_close_date=date(2023, 6, 2)), [], NOW)  # 365 days before
    assert violations(replace(GOOD, expected_close_date=date(2023, 6, 1))) == ["expected_close_date"]
    assert violations(replace(GOOD, expected_close_date=NOW)) == ["expected_close_date"]  # type: ignore[arg-type]


def test_close_date_limit_is_configurable() -> None:
    with pytest.raises(ValidationFailed):
        validate_opportunity(replace(GOOD, expected_close_date=date(2024, 5, 1)), [], NOW, max_close_date_age_days=30)


def test_competitors_are_validated() -> None:
    data = replace(
        GOOD,
        competitors=(
            Competitor("", "x"),
            Competitor("Acme", price=Money(Decimal("-1"), "CNY")),
            Competitor("ACME"),
        ),
    )
    assert violations(data) == ["competitors[0].name", "competitors[1].price.amount", "competitors[2].name"]


def test_products_are_validated() -> None:
    data = replace(
        GOOD,
        products=(
            OpportunityProduct("", Decimal("1")),
            OpportunityProduct("p", Decimal("0")),
            OpportunityProduct("p", Decimal("1")),
        ),
    )
    assert violations(data) == ["products[0].product_id", "products[1].quantity", "products[2].product_id"]


def test_customer_required_and_all_violations_reported_together() -> None:
    data = replace(GOOD, customer_id=" ", name="", amount=Money(Decimal("-1"), "CNY"))
    assert violations(data) == ["customer_id", "name", "amount.amount"]
