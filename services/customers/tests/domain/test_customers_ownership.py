from datetime import datetime, timedelta, timezone, UTC

import pytest

from salesgrid_customers.domain.errors import ValidationFailed
from salesgrid_customers.domain.ownership import ArbitrationRule, OwnershipClaim, arbitrate_ownership

REGISTERED = "华为技术有限公司"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
T0 = datetime(2024, 1, 1, 9, tzinfo=UTC)


def claim(rep: str, name: str, follow: datetime | None = None, opp: datetime | None = None) -> OwnershipClaim:
    return OwnershipClaim(rep, f"cust-{rep}", name, follow, opp)


def test_rule1_exact_registered_name_wins_over_earlier_follow_up() -> None:
    decision = arbitrate_ownership(
        [claim("a", "华为", follow=T0), claim("b", REGISTERED, follow=T0 + timedelta(days=30))], REGISTERED, NOW
    )
    assert decision.winner_rep_id == "b" and decision.winner_customer_id == "cust-b"
    assert decision.rule is ArbitrationRule.REGISTERED_NAME
    assert decision.steps[0].compared == (("a", "false"), ("b", "true"))
    assert decision.decided_at == NOW


def test_rule1_ignores_only_width_and_outer_spaces() -> None:
    registered = "华为技术（深圳）有限公司"
    decision = arbitrate_ownership(
        [claim("a", " 华为技术(深圳)有限公司 "), claim("b", "华为技术深圳有限公司")], registered, NOW
    )
    assert decision.winner_rep_id == "a"


def test_rule2_first_follow_up_wins_when_nobody_has_registered_name() -> None:
    decision = arbitrate_ownership(
        [claim("a", "华为", follow=T0 + timedelta(hours=1), opp=T0), claim("b", "华为技术", follow=T0)],
        REGISTERED,
        NOW,
    )
    assert decision.winner_rep_id == "b"
    assert decision.rule is ArbitrationRule.FIRST_FOLLOW_UP
    assert T0.isoformat() in decision.reason
    step = decision.steps[1]
    assert step.rule is ArbitrationRule.FIRST_FOLLOW_UP
    assert dict(step.compared) == {"a": (T0 + timedelta(hours=1)).isoformat(), "b": T0.isoformat()}


def test_rule2_compares_instants_across_time_zones() -> None:
    shanghai = timezone(timedelta(hours=8))
    decision = arbitrate_ownership(
        [
            claim("a", "x", follow=datetime(2024, 1, 1, 16, tzinfo=shanghai)),  # 08:00 UTC
            claim("b", "y", follow=datetime(2024, 1, 1, 9, tzinfo=UTC)),
        ],
        REGISTERED,
        NOW,
    )
    assert decision.winner_rep_id == "a"


def test_rep_without_follow_up_loses_rule2() -> None:
    decision = arbitrate_ownership(
        [claim("a", "x", opp=T0), claim("b", "y", follow=T0 + timedelta(days=9))], REGISTERED, NOW
    )
    assert decision.winner_rep_id == "b" and decision.rule is ArbitrationRule.FIRST_FOLLOW_UP


def test_rule3_first_opportunity_when_follow_ups_tie() -> None:
    decision = arbitrate_ownership(
        [
            claim("a", "x", follow=T0, opp=T0 + timedelta(days=2)),
            claim("b", "y", follow=T0, opp=T0 + timedelta(days=1)),
            claim("c", "z", follow=T0 + timedelta(days=1), opp=T0),
        ],
        REGISTERED,
        NOW,
    )
    # c has the earliest opportunity but lost at rule 2
    assert decision.winner_rep_id == "b"
    assert decision.rule is ArbitrationRule.FIRST_OPPORTUNITY
    assert decision.steps[1].remaining == ("a", "b")


def test_rule3_when_nobody_followed_up() -> None:
    decision = arbitrate_ownership([claim("a", "x", opp=T0 + timedelta(1)), claim("b", "y", opp=T0)], REGISTERED, NOW)
    assert decision.winner_rep_id == "b" and decision.rule is ArbitrationRule.FIRST_OPPORTUNITY


def test_two_exact_names_fall_through_to_follow_up_among_them() -> None:
    decision = arbitrate_ownership(
        [
            claim("a", REGISTERED, follow=T0 + timedelta(days=1)),
            claim("b", REGISTERED, follow=T0 + timedelta(days=2)),
            claim("c", "华为", follow=T0),
        ],
        REGISTERED,
        NOW,
    )
    assert decision.winner_rep_id == "a"
    assert decision.rule is ArbitrationRule.FIRST_FOLLOW_UP
    assert decision.steps[0].remaining == ("a", "b")


def test_undecided_when_no_rule_separates() -> None:
    decision = arbitrate_ownership(
        [claim("a", "x", follow=T0, opp=T0), claim("b", "y", follow=T0, opp=T0)], REGISTERED, NOW
    )
    assert decision.winner_rep_id is None and decision.winner_customer_id is None
    assert decision.rule is ArbitrationRule.UNDECIDED
    assert len(decision.steps) == 3


def test_undecided_without_any_facts() -> None:
    decision = arbitrate_ownership([claim("a", "x"), claim("b", "y")], REGISTERED, NOW)
    assert decision.rule is ArbitrationRule.UNDECIDED


@pytest.mark.parametrize(
    ("claims", "registered", "field"),
    [
        ([claim("a", "x")], REGISTERED, "claims"),
        ([claim("a", "x"), claim("a", "y")], REGISTERED, "claims"),
        ([claim("a", "x"), claim("b", "y")], "  ", "registered_name"),
        ([claim("a", "x", follow=datetime(2024, 1, 1)), claim("b", "y")], REGISTERED, "claims"),
    ],
)
def test_bad_input(claims: list[OwnershipClaim], registered: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        arbitrate_ownership(claims, registered, NOW)
    assert exc.value.field == field
