from decimal import Decimal

import pytest

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.metrics import Metric, parse_metric, validate_quantity


def test_known_metrics_parse():
    assert parse_metric("collected_revenue") is Metric.COLLECTED_REVENUE
    assert parse_metric("contract_amount") is Metric.CONTRACT_AMOUNT
    assert parse_metric("new_customers") is Metric.NEW_CUSTOMERS
    assert parse_metric("visits") is Metric.VISITS


def test_unknown_metric_rejected_naming_it():
    with pytest.raises(ValidationFailed) as info:
        parse_metric("profit", field="targets[3].metric")
    assert info.value.field == "targets[3].metric"
    assert "profit" in info.value.message


def test_money_metrics_need_a_currency():
    assert Metric.COLLECTED_REVENUE.is_money and Metric.CONTRACT_AMOUNT.is_money
    assert not Metric.VISITS.is_money
    with pytest.raises(ValidationFailed) as info:
        validate_quantity(Metric.CONTRACT_AMOUNT, Decimal("10"), None)
    assert info.value.field == "currency"
    assert validate_quantity(Metric.CONTRACT_AMOUNT, "10.5", "CNY") == (Decimal("10.50"), "CNY")


def test_counts_are_whole_and_have_no_currency():
    assert validate_quantity(Metric.VISITS, 12, None) == (Decimal(12), None)
    with pytest.raises(ValidationFailed) as info:
        validate_quantity(Metric.VISITS, Decimal("1.5"), None)
    assert info.value.field == "amount"
    with pytest.raises(ValidationFailed) as info:
        validate_quantity(Metric.NEW_CUSTOMERS, 3, "CNY")
    assert info.value.field == "currency"


@pytest.mark.parametrize("bad", [1.5, "abc", Decimal("NaN"), Decimal("-1"), "0.001"])
def test_bad_money_rejected(bad):
    with pytest.raises(ValidationFailed) as info:
        validate_quantity(Metric.COLLECTED_REVENUE, bad, "CNY")
    assert info.value.field == "amount"


def test_bad_currency_rejected():
    with pytest.raises(ValidationFailed) as info:
        validate_quantity(Metric.COLLECTED_REVENUE, 1, "rmb")
    assert info.value.field == "currency"
