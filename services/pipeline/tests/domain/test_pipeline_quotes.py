from datetime import UTC, datetime
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import FailedPrecondition, NotFound, ValidationFailed
from salesgrid_pipeline.domain.quotes import (
    Discount,
    DiscountKind,
    QuoteLine,
    QuoteStatus,
    accept,
    new_version,
    price_line,
    price_quote,
)

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def line(price: str, qty: str = "1", discount: Discount | None = None) -> QuoteLine:
    return QuoteLine("p-1", "Server", Decimal(price), Decimal(qty), discount)


def test_line_total_rounds_half_up_to_minor_units() -> None:
    assert price_line(line("0.125"), "CNY").net == Decimal("0.13")
    assert price_line(line("0.115", "3"), "CNY").gross == Decimal("0.35")  # 0.345 -> 0.35
    assert price_line(line("100.5"), "JPY").net == Decimal("101")
    assert price_line(line("1.0005"), "KWD").net == Decimal("1.001")


def test_percent_discount() -> None:
    priced = price_line(line("99.99", "3", Discount(DiscountKind.PERCENT, Decimal("12.5"))), "CNY")
    assert (priced.gross, priced.discount, priced.net) == (Decimal("299.97"), Decimal("37.50"), Decimal("262.47"))


def test_amount_discount_is_capped_at_the_line_gross() -> None:
    assert price_line(line("10", "2", Discount(DiscountKind.AMOUNT, Decimal("5"))), "USD").net == Decimal("15.00")
    assert price_line(line("10", "2", Discount(DiscountKind.AMOUNT, Decimal("20"))), "USD").net == Decimal("0.00")
    with pytest.raises(ValidationFailed) as info:
        price_line(line("10", "2", Discount(DiscountKind.AMOUNT, Decimal("20.01"))), "USD")
    assert info.value.field == "line.discount.value"


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (line("10", "1", Discount(DiscountKind.PERCENT, Decimal("100.01"))), "lines[0].discount.value"),
        (line("10", "1", Discount(DiscountKind.PERCENT, Decimal("-1"))), "lines[0].discount.value"),
        (line("-1"), "lines[0].unit_price"),
        (line("10", "0"), "lines[0].quantity"),
        (QuoteLine("p", "x", 9.99, Decimal(1)), "lines[0].unit_price"),  # type: ignore[arg-type]
        (QuoteLine("", "x", Decimal(1), Decimal(1)), "lines[0].product_id"),
    ],
)
def test_bad_lines_name_the_field(bad: QuoteLine, field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        price_quote([bad], "CNY")
    assert field in [f for f, _ in info.value.violations]


def test_quote_total_is_sum_of_rounded_line_nets() -> None:
    pricing = price_quote(
        [line("0.005"), line("0.005"), line("10", "2", Discount(DiscountKind.PERCENT, Decimal("10")))], "CNY"
    )
    # each 0.005 line rounds to 0.01 on its own; the total adds the printed lines
    assert (pricing.subtotal, pricing.discount_total, pricing.total) == (
        Decimal("20.02"),
        Decimal("2.00"),
        Decimal("18.02"),
    )


def test_quote_needs_lines_and_known_currency() -> None:
    with pytest.raises(ValidationFailed) as info:
        price_quote([], "CNY")
    assert info.value.field == "lines"
    with pytest.raises(ValidationFailed) as info:
        price_quote([line("1")], "RMB")
    assert info.value.field == "currency"


def issue(versions: list, qid: str) -> tuple:
    revision = new_version(
        versions, quote_id=qid, opportunity_id="opp-1", currency="CNY", lines=[line("100")], actor="rep-1", now=NOW
    )
    return revision.new, revision.superseded


def test_new_version_supersedes_the_current_one() -> None:
    v1, none = issue([], "q1")
    assert (v1.version, v1.status, none) == (1, QuoteStatus.CURRENT, None)
    assert v1.pricing.total == Decimal("100.00")
    v2, old = issue([v1], "q2")
    assert v2.version == 2 and old is not None and (old.quote_id, old.status) == ("q1", QuoteStatus.SUPERSEDED)


def test_accept_only_the_current_version_and_only_once() -> None:
    v1, _ = issue([], "q1")
    v2, v1_old = issue([v1], "q2")
    versions = [v1_old, v2]
    with pytest.raises(FailedPrecondition) as info:
        accept(versions, 1, "rep-1", NOW)
    assert info.value.field == "version"
    with pytest.raises(NotFound):
        accept(versions, 3, "rep-1", NOW)
    accepted = accept(versions, 2, "rep-1", NOW)
    assert (accepted.status, accepted.accepted_by, accepted.accepted_at) == (QuoteStatus.ACCEPTED, "rep-1", NOW)
    with pytest.raises(FailedPrecondition):
        accept([v1_old, accepted], 2, "rep-1", NOW)
    with pytest.raises(FailedPrecondition):
        issue([v1_old, accepted], "q3")


def test_versions_of_another_opportunity_are_refused() -> None:
    v1, _ = issue([], "q1")
    with pytest.raises(ValidationFailed):
        new_version([v1], quote_id="q2", opportunity_id="opp-2", currency="CNY", lines=[line("1")], actor="r", now=NOW)
