from datetime import date
from decimal import Decimal

import pytest

from salesgrid_pipeline.domain.errors import ValidationFailed
from salesgrid_pipeline.domain.forecast import (
    Category,
    GroupBy,
    OpportunityRow,
    RowStatus,
    category,
    forecast,
    forecast_subtree,
    in_subtree,
)
from salesgrid_pipeline.domain.money import Money


def row(
    oid: str,
    amount: str,
    probability: int,
    *,
    owner: str = "rep-1",
    team: str = "t1",
    path: str = "hq/east/sh/t1",
    month: int = 7,
    status: RowStatus = RowStatus.OPEN,
    flag: bool = False,
    currency: str = "CNY",
) -> OpportunityRow:
    return OpportunityRow(
        oid, owner, team, path, date(2024, month, 15), Money(Decimal(amount), currency), probability, status, flag
    )


ROWS = [
    row("a", "1000", 80),
    row("b", "500", 40),
    row("c", "200", 10),
    row("d", "300", 25, flag=True),
    row("e", "999", 0, status=RowStatus.LOST),
    row("f", "700", 100, status=RowStatus.WON),
    row("g", "100.005", 33, owner="rep-2", team="t2", path="hq/east/hz/t2"),
    row("h", "50", 60, month=8),
    row("i", "10", 60, currency="USD"),
]


@pytest.mark.parametrize(
    ("r", "expected"),
    [
        (row("x", "1", 60), Category.COMMIT),
        (row("x", "1", 59), Category.BEST_CASE),
        (row("x", "1", 10, flag=True), Category.COMMIT),
        (row("x", "1", 25), Category.BEST_CASE),
        (row("x", "1", 24), Category.PIPELINE),
        (row("x", "1", 100, status=RowStatus.WON), Category.WON),
        (row("x", "1", 90, status=RowStatus.LOST), None),
    ],
)
def test_categories(r: OpportunityRow, expected: Category | None) -> None:
    assert category(r) is expected


def test_by_owner_month_and_currency() -> None:
    buckets = {(b.key, b.month, b.currency): b for b in forecast(ROWS, GroupBy.OWNER)}
    assert set(buckets) == {
        ("rep-1", "2024-07", "CNY"),
        ("rep-1", "2024-08", "CNY"),
        ("rep-1", "2024-07", "USD"),
        ("rep-2", "2024-07", "CNY"),
    }
    july = buckets[("rep-1", "2024-07", "CNY")]
    assert july.count == 5  # lost row excluded
    assert july.amount == Decimal("2700.00")
    # 800 + 200 + 20 + 75 + 700 (won counts in full)
    assert july.weighted_amount == Decimal("1795.00")
    assert (july.won_amount, july.commit_amount, july.best_case_amount, july.pipeline_amount) == (
        Decimal("700.00"),
        Decimal("1300.00"),
        Decimal("500.00"),
        Decimal("200.00"),
    )


def test_weighted_amount_rounds_half_up_once_per_bucket() -> None:
    buckets = forecast([row("g1", "0.015", 50), row("g2", "0.015", 50)], GroupBy.OWNER)
    assert buckets[0].weighted_amount == Decimal("0.02")  # 0.0075 + 0.0075 = 0.015 -> 0.02
    assert buckets[0].amount == Decimal("0.03")


def test_by_team() -> None:
    keys = [(b.key, b.month, b.currency) for b in forecast(ROWS, GroupBy.TEAM)]
    assert keys == sorted(keys) and {k for k, _, _ in keys} == {"t1", "t2"}


def test_subtree_uses_whole_path_segments() -> None:
    assert in_subtree("hq/east/sh/t1", "hq/east") and in_subtree("hq/east", "/hq/east/")
    assert not in_subtree("hq/eastern/t9", "hq/east")
    rows = ROWS + [row("z", "1", 50, path="hq/eastern/t9")]
    buckets = forecast_subtree(rows, "hq/east")
    july_cny = next(b for b in buckets if b.month == "2024-07" and b.currency == "CNY")
    assert july_cny.key == "hq/east" and july_cny.count == 6
    assert sum(b.count for b in forecast_subtree(rows, "hq/east/hz")) == 1


def test_invalid_probability_rejected() -> None:
    with pytest.raises(ValidationFailed) as info:
        forecast([row("a", "1", 101)], GroupBy.OWNER)
    assert info.value.field == "rows[0].probability"
