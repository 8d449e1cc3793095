from decimal import Decimal

import pytest
from contracts_builders import cny, product
from salesgrid_contracts.domain.errors import (
    FailedPrecondition,
    NotFound,
    ValidationFailed,
)
from salesgrid_contracts.domain.money import Money
from salesgrid_contracts.domain.products import (
    activate_product,
    deactivate_price_list,
    deactivate_product,
    ensure_sellable,
    list_price,
    new_price_list,
    new_product,
)


def test_new_product_is_active_and_trimmed() -> None:
    created = new_product(" p-9 ", "SKU-9", " Support plan ")
    assert (created.product_id, created.name, created.active) == ("p-9", "Support plan", True)


def test_new_product_reports_every_blank_field() -> None:
    with pytest.raises(ValidationFailed) as info:
        new_product("", " ", "x")
    assert [field for field, _ in info.value.violations] == ["product_id", "sku"]


def test_inactive_product_cannot_be_sold_and_can_be_reactivated() -> None:
    inactive = deactivate_product(product())
    with pytest.raises(FailedPrecondition) as info:
        ensure_sellable(inactive, "lines[0].product_id")
    assert info.value.field == "lines[0].product_id"
    ensure_sellable(activate_product(inactive))


def test_price_list_holds_several_currencies_per_product() -> None:
    prices = (
        new_price_list("pl-1", "2026 list")
        .with_price("p-1", cny("1000.00"))
        .with_price("p-1", Money(Decimal("150.00"), "USD"))
        .with_price("p-1", Money(Decimal(16000), "JPY"))
    )
    assert prices.currencies_for("p-1") == {"CNY", "USD", "JPY"}
    assert prices.price_for("p-1", "USD") == Money(Decimal(150), "USD")
    assert prices.with_price("p-1", cny("900.00")).price_for("p-1", "CNY") == cny("900.00")
    assert prices.price_for("p-1", "CNY") == cny("1000.00")  # the original is unchanged


def test_missing_price_is_not_found() -> None:
    prices = new_price_list("pl-1", "2026 list").with_price("p-1", cny("1000.00"))
    with pytest.raises(NotFound):
        prices.price_for("p-1", "EUR")
    with pytest.raises(NotFound):
        prices.without_price("p-1", "CNY").price_for("p-1", "CNY")


def test_negative_price_is_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        new_price_list("pl-1", "x").with_price("p-1", cny("-1.00"))
    assert info.value.field == "price"


def test_list_price_needs_active_product_and_price_list() -> None:
    prices = new_price_list("pl-1", "2026 list").with_price("p-1", cny("1000.00"))
    assert list_price(product(), prices, "CNY") == cny("1000.00")
    with pytest.raises(FailedPrecondition) as info:
        list_price(deactivate_product(product()), prices, "CNY")
    assert info.value.field == "product_id"
    with pytest.raises(FailedPrecondition) as info:
        list_price(product(), deactivate_price_list(prices), "CNY")
    assert info.value.field == "price_list_id"
