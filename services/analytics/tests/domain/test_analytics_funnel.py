from datetime import timedelta
from decimal import Decimal

import pytest

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.facts import Selection
from salesgrid_analytics.domain.funnel import funnel
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.stages import WON, Stage, StageModel

from analytics_factories import CUSTOM, DEFAULT, REP_B, REP_C, SHANGHAI, at, created, lost, moved, won


def funnel_of(facts, model=DEFAULT, **kwargs):
    kwargs.setdefault("period", parse_period("2026"))
    return funnel(facts, tz=SHANGHAI, currency=kwargs.pop("currency", "CNY"), stage_model=model, **kwargs)


def scenario():
    return [
        # o1: 10 days in opportunity, 10 in approval, then communication, won in April.
        created("o1", at(2026, 3, 1), amount="1000.00"),
        moved("o1", "opportunity", "approval", at(2026, 3, 11)),
        moved("o1", "approval", "formal_communication", at(2026, 3, 21)),
        won("o1", at(2026, 4, 10)),
        # o2: 20 days in opportunity, 5 in approval, lost.
        created("o2", at(2026, 3, 5), owner=REP_B, amount="2000.00"),
        moved("o2", "opportunity", "approval", at(2026, 3, 25), owner=REP_B),
        lost("o2", at(2026, 3, 30), owner=REP_B),
        # o3 in another region, still open.
        created("o3", at(2026, 3, 2), owner=REP_C, amount="500.00"),
        # o4 in dollars: counted, but not in the CNY amount.
        created("o4", at(2026, 3, 3), owner=REP_B, amount="9.00", currency="USD"),
    ]


def stats(report, name):
    return next(s for s in report.stages if s.stage == name)


def test_counts_amounts_conversion_and_time_in_stage():
    report = funnel_of(scenario(), selection=Selection("/acme/east"))
    opp = stats(report, "opportunity")
    assert (opp.entered, opp.amount, opp.advanced, opp.conversion) == (3, Decimal("3000.00"), 2, Decimal("0.6667"))
    assert opp.average_time == timedelta(days=15)
    approval = stats(report, "approval")
    assert (approval.entered, approval.advanced, approval.conversion) == (2, 1, Decimal("0.5000"))
    assert approval.average_time == timedelta(days=7, hours=12)  # 10 days and 5 days (ended by the loss)
    communication = stats(report, "formal_communication")
    assert (communication.entered, communication.advanced) == (1, 0)
    assert communication.average_time == timedelta(days=20)  # ended by the win
    assert stats(report, "bidding").entered == 0
    assert stats(report, "bidding").conversion is None
    assert (report.won, report.lost, report.win_rate, report.won_amount) == (
        1,
        1,
        Decimal("0.5000"),
        Decimal("1000.00"),
    )


def test_stage_order_follows_the_published_model():
    report = funnel_of([])
    assert tuple(s.stage for s in report.stages) == (
        "lead",
        "opportunity",
        "approval",
        "formal_communication",
        "bidding",
        "result",
    )
    assert report.win_rate is None


def test_subtree_and_rep_selection():
    everything = funnel_of(scenario())
    assert stats(everything, "opportunity").entered == 4
    one_rep = funnel_of(scenario(), selection=Selection("/acme", "rep-b"))
    assert stats(one_rep, "opportunity").entered == 2
    assert (one_rep.won, one_rep.lost) == (0, 1)


def test_period_limits_entries_and_outcomes():
    april = funnel_of(scenario(), period=parse_period("2026-04"))
    assert all(s.entered == 0 for s in april.stages)
    assert (april.won, april.lost, april.win_rate) == (1, 0, Decimal("1.0000"))


def test_stage_time_uses_timestamps_not_arrival_order():
    in_order = funnel_of(scenario())
    reversed_arrival = funnel_of(list(reversed(scenario())))
    assert stats(reversed_arrival, "approval").average_time == stats(in_order, "approval").average_time


def test_open_stay_has_no_time_yet():
    report = funnel_of([created("o9", at(2026, 3, 1))])
    assert stats(report, "opportunity").average_time is None


def test_last_open_stage_converts_to_won():
    model = StageModel("single", 1, (Stage("only", 50), Stage("yes", 100, WON)))
    facts = [
        created("x", at(2026, 3, 1), stage="only", model="single"),
        won("x", at(2026, 3, 2)),
        created("y", at(2026, 3, 1), stage="only", model="single"),
        lost("y", at(2026, 3, 2)),
    ]
    report = funnel_of(facts, model)
    assert report.stages[0].conversion == Decimal("0.5000")


def test_bad_currency_rejected():
    with pytest.raises(ValidationFailed) as info:
        funnel_of([], currency="cny")
    assert info.value.field == "currency"


def test_stage_model_validated():
    with pytest.raises(ValidationFailed) as info:
        StageModel("m", 1, (Stage("a", 10), Stage("a", 20)))
    assert info.value.field == "stages"
    with pytest.raises(ValidationFailed) as info:
        StageModel("m", 1, (Stage("w", 100, WON),))
    assert info.value.field == "stages"
    with pytest.raises(ValidationFailed) as info:
        Stage("a", 150)
    assert info.value.field == "stage.probability"
    with pytest.raises(ValidationFailed) as info:
        Stage("a", 10, "maybe")
    assert info.value.field == "stage.outcome"


def test_every_stage_of_each_model_with_its_own_counts():
    """Funnels are per model: each lists all of its model's open stages in order, and counts only
    the opportunities following that model."""
    facts = [
        created("d1", at(2026, 3, 1)),
        moved("d1", "opportunity", "approval", at(2026, 3, 2)),
        moved("d1", "approval", "formal_communication", at(2026, 3, 3)),
        created("d2", at(2026, 3, 1)),
        moved("d2", "opportunity", "approval", at(2026, 3, 4)),
        created("r1", at(2026, 3, 1), stage="contact", model="retail"),
        moved("r1", "contact", "demo", at(2026, 3, 2), model="retail"),
        won("r1", at(2026, 3, 5)),
        created("r2", at(2026, 3, 1), stage="contact", model="retail"),
    ]
    default = funnel_of(facts)
    assert [(s.stage, s.entered, s.advanced) for s in default.stages] == [
        ("lead", 0, 0),
        ("opportunity", 2, 2),
        ("approval", 2, 1),
        ("formal_communication", 1, 0),
        ("bidding", 0, 0),
        ("result", 0, 0),
    ]
    assert (default.won, default.model_code) == (0, "default")
    retail = funnel_of(facts, CUSTOM)
    assert [(s.stage, s.entered, s.advanced) for s in retail.stages] == [("contact", 2, 1), ("demo", 1, 1)]
    assert (retail.won, retail.lost, retail.win_rate) == (1, 0, Decimal("1.0000"))


def test_a_model_not_published_yet_has_no_stage_rows_but_counts_outcomes():
    facts = [created("x", at(2026, 3, 1), stage="s1", model="new"), won("x", at(2026, 3, 2))]
    report = funnel(facts, period=parse_period("2026"), tz=SHANGHAI, currency="CNY", stage_model=None, model_code="new")
    assert (report.stages, report.won, report.model_code) == ((), 1, "new")
