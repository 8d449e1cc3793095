from datetime import timedelta
from decimal import Decimal

import pytest

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.facts import Selection
from salesgrid_analytics.domain.funnel import funnel
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.stages import DEFAULT_STAGE_MODEL, Stage, StageModel

from analytics_factories import REP_B, REP_C, SHANGHAI, at, created, lost, moved, won


def scenario():
    return [
        # o1: 10 days in opportunity, 10 in approval, then communication, won in April.
        created("o1", at(2026, 3, 1), amount="1000.00"),
        moved("o1", "opportunity", "approval", at(2026, 3, 11)),
        moved("o1", "approval", "communication", at(2026, 3, 21)),
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
    report = funnel(scenario(), period=parse_period("2026"), tz=SHANGHAI, currency="CNY",
                    selection=Selection("/acme/east"))
    opp = stats(report, "opportunity")
    assert (opp.entered, opp.amount, opp.advanced, opp.conversion) == (3, Decimal("3000.00"), 2, Decimal("0.6667"))
    assert opp.average_time == timedelta(days=15)
    approval = stats(report, "approval")
    assert (approval.entered, approval.advanced, approval.conversion) == (2, 1, Decimal("0.5000"))
    assert approval.average_time == timedelta(days=7, hours=12)  # 10 days and 5 days (ended by the loss)
    communication = stats(report, "communication")
    assert (communication.entered, communication.advanced) == (1, 0)
    assert communication.average_time == timedelta(days=20)  # ended by the win
    assert stats(report, "bidding").entered == 0
    assert stats(report, "bidding").conversion is None
    assert (report.won, report.lost, report.win_rate, report.won_amount) == (1, 1, Decimal("0.5000"), Decimal("1000.00"))


def test_stage_order_follows_model():
    report = funnel([], period=parse_period("2026"), tz=SHANGHAI, currency="CNY")
    assert tuple(s.stage for s in report.stages) == DEFAULT_STAGE_MODEL.names
    assert report.win_rate is None


def test_subtree_and_rep_selection():
    everything = funnel(scenario(), period=parse_period("2026"), tz=SHANGHAI, currency="CNY")
    assert stats(everything, "opportunity").entered == 4
    one_rep = funnel(scenario(), period=parse_period("2026"), tz=SHANGHAI, currency="CNY",
                     selection=Selection("/acme", "rep-b"))
    assert stats(one_rep, "opportunity").entered == 2
    assert (one_rep.won, one_rep.lost) == (0, 1)


def test_period_limits_entries_and_outcomes():
    april = funnel(scenario(), period=parse_period("2026-04"), tz=SHANGHAI, currency="CNY")
    assert all(s.entered == 0 for s in april.stages)
    assert (april.won, april.lost, april.win_rate) == (1, 0, Decimal("1.0000"))


def test_stage_time_uses_timestamps_not_arrival_order():
    in_order = funnel(scenario(), period=parse_period("2026"), tz=SHANGHAI, currency="CNY")
    reversed_arrival = funnel(list(reversed(scenario())), period=parse_period("2026"), tz=SHANGHAI, currency="CNY")
    assert stats(reversed_arrival, "approval").average_time == stats(in_order, "approval").average_time


def test_open_stay_has_no_time_yet():
    report = funnel([created("o9", at(2026, 3, 1))], period=parse_period("2026"), tz=SHANGHAI, currency="CNY")
    assert stats(report, "opportunity").average_time is None


def test_last_open_stage_converts_to_won():
    model = StageModel((Stage("only", Decimal("0.5")),))
    facts = [created("x", at(2026, 3, 1), stage="only"), won("x", at(2026, 3, 2)),
             created("y", at(2026, 3, 1), stage="only"), lost("y", at(2026, 3, 2))]
    report = funnel(facts, period=parse_period("2026"), tz=SHANGHAI, currency="CNY", stage_model=model)
    assert report.stages[0].conversion == Decimal("0.5000")


def test_bad_currency_rejected():
    with pytest.raises(ValidationFailed) as info:
        funnel([], period=parse_period("2026"), tz=SHANGHAI, currency="cny")
    assert info.value.field == "currency"


def test_stage_model_validated():
    with pytest.raises(ValidationFailed) as info:
        StageModel((Stage("a", Decimal("0.1")), Stage("a", Decimal("0.2"))))
    assert info.value.field == "stages"
    with pytest.raises(ValidationFailed) as info:
        Stage("a", Decimal("1.5"))
    assert info.value.field == "stage.probability"
    with pytest.raises(ValidationFailed):
        Stage("won", Decimal("1"))
