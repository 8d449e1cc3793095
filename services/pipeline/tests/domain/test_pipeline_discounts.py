"""Special-discount approval rules (特批折扣) as plain Python."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesgrid_pipeline.domain import discounts
from salesgrid_pipeline.domain.errors import FailedPrecondition, ValidationFailed


def test_rate_is_the_deepest_line_discount() -> None:
    lines = [(Decimal("1000"), Decimal("50")), (Decimal("200"), Decimal("50")), (Decimal("0"), Decimal("0"))]
    assert discounts.discount_rate(lines) == Decimal("25.00")  # not the 8.33% of the whole quote
    assert discounts.discount_rate([(Decimal("100"), Decimal("0"))]) == Decimal("0")


def test_roles_by_threshold_with_the_threshold_itself_allowed() -> None:
    policy = discounts.new_policy("u1", "10", "20")
    assert discounts.required_roles(Decimal("10"), policy) == []
    assert discounts.required_roles(Decimal("10.01"), policy) == ["manager"]
    assert discounts.required_roles(Decimal("20"), policy) == ["manager"]
    assert discounts.required_roles(Decimal("20.5"), policy) == ["manager", "director"]


def test_nearest_unit_policy_wins_else_default() -> None:
    own, parent = discounts.new_policy("team", "5", "8"), discounts.new_policy("region", "15", "30")
    assert discounts.policy_for_unit(["team", "region", "c"], {"team": own, "region": parent}) is own
    assert discounts.policy_for_unit(["t2", "region", "c"], {"team": own, "region": parent}) is parent
    default = discounts.policy_for_unit(["t3", "c"], {})
    assert (default.threshold_percent, default.director_above_percent) == (
        discounts.DEFAULT_THRESHOLD,
        discounts.DEFAULT_DIRECTOR_ABOVE,
    )


@pytest.mark.parametrize(
    "threshold, director, field",
    [
        ("abc", "20", "threshold_percent"),
        ("-1", "20", "threshold_percent"),
        ("10", "101", "director_above_percent"),
        ("30", "20", "director_above_percent"),
        ("NaN", "20", "threshold_percent"),
    ],
)
def test_bad_policy_names_the_field(threshold: str, director: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        discounts.new_policy("u1", threshold, director)
    assert field in [f for f, _ in raised.value.violations]


def test_policy_needs_a_unit() -> None:
    with pytest.raises(ValidationFailed) as raised:
        discounts.new_policy(" ", "10", "20")
    assert [f for f, _ in raised.value.violations] == ["org_unit_id"]


def test_only_an_approved_or_unneeded_special_discount_is_acceptable() -> None:
    discounts.check_acceptable(discounts.DiscountApproval.NOT_REQUIRED, Decimal("5"))
    discounts.check_acceptable(discounts.DiscountApproval.APPROVED, Decimal("35"))
    for status in (discounts.DiscountApproval.PENDING, discounts.DiscountApproval.REJECTED):
        with pytest.raises(FailedPrecondition) as raised:
            discounts.check_acceptable(status, Decimal("35"))
        assert raised.value.field == "discount_approval"
