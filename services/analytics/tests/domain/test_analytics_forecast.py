from datetime import date
from decimal import Decimal

import pytest

from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.facts import OpportunityUpdated, Selection
from salesgrid_analytics.domain.forecast import forecast_vs_target
from salesgrid_analytics.domain.periods import parse_period

from analytics_factories import MODELS, REP_A, REP_C, SHANGHAI, at, created, lost, moved, won

NOW = at(2026, 5, 15)
Q2 = parse_period("2026-Q2")
MAY, JUNE = parse_period("2026-05"), parse_period("2026-06")


def scenario():
    return [
        created("o1", at(2026, 4, 1), amount="1000.00", close=date(2026, 6, 10)),
        moved("o1", "opportunity", "bidding", at(2026, 4, 20)),
        OpportunityUpdated(
            event_id="upd-1",
            occurred_at=at(2026, 5, 1),
            owner_id=REP_A[0],
            org_path=REP_A[1],
            opportunity_id="o1",
            amount=Decimal("2000.00"),
            currency="CNY",
            expected_close=date(2026, 6, 10),
        ),
        # An update after `now` is not known yet.
        OpportunityUpdated(
            event_id="upd-2",
            occurred_at=at(2026, 5, 20),
            owner_id=REP_A[0],
            org_path=REP_A[1],
            opportunity_id="o1",
            amount=Decimal("9000.00"),
            currency="CNY",
            expected_close=date(2026, 6, 10),
        ),
        created("o2", at(2026, 4, 2), stage="approval", amount="333.33", close=date(2026, 6, 30)),
        created("o3", at(2026, 4, 3), stage="result", amount="5000.00", close=date(2026, 4, 30)),
        won("o3", at(2026, 5, 3)),
        created("o4", at(2026, 4, 4), stage="result", amount="800.00", close=date(2026, 5, 31)),
        lost("o4", at(2026, 5, 4)),
        # Won after `now`: still open in "result" at 0.80, closing in May.
        created("o5", at(2026, 4, 5), stage="result", amount="100.00", close=date(2026, 5, 31)),
        won("o5", at(2026, 5, 20)),
        created("o6", at(2026, 4, 6), amount="700.00", currency="USD", close=date(2026, 6, 1)),
        created("o7", at(2026, 4, 7), amount="700.00", close=date(2026, 8, 1)),
        created("o8", at(2026, 4, 8), owner=REP_C, stage="bidding", amount="100.00", close=date(2026, 6, 1)),
    ]


def test_won_plus_weighted_pipeline_by_close_month():
    report = forecast_vs_target(
        scenario(),
        period=Q2,
        tz=SHANGHAI,
        currency="CNY",
        models=MODELS,
        now=NOW,
        targets={MAY: Decimal("4000.00"), JUNE: Decimal("1000.00")},
        selection=Selection("/acme/east"),
    )
    april, may, june = report.months
    assert (april.won, april.weighted_pipeline, april.target, april.gap) == (0, 0, None, None)
    assert (may.won, may.weighted_pipeline) == (Decimal("5000.00"), Decimal("80.00"))
    assert may.gap == Decimal("-1080.00")
    assert may.coverage == Decimal("1.2700")
    # o1: 2000 × 0.60; o2: 333.33 × 0.25 = 83.3325 → 83.33.
    assert june.weighted_pipeline == Decimal("1283.33")
    assert june.forecast == Decimal("1283.33")
    assert june.gap == Decimal("-283.33")
    total = report.total
    assert (total.period, total.won, total.weighted_pipeline) == (Q2, Decimal("5000.00"), Decimal("1363.33"))
    assert (total.target, total.gap) == (Decimal("5000.00"), Decimal("-1363.33"))


def test_whole_company_includes_other_regions():
    report = forecast_vs_target(scenario(), period=Q2, tz=SHANGHAI, currency="CNY", models=MODELS, now=NOW, targets={})
    assert report.months[2].weighted_pipeline == Decimal("1343.33")
    assert report.total.target is None and report.total.coverage is None


def test_later_now_sees_later_facts():
    report = forecast_vs_target(
        scenario(),
        period=Q2,
        tz=SHANGHAI,
        currency="CNY",
        models=MODELS,
        now=at(2026, 5, 25),
        targets={},
        selection=Selection("/acme/east"),
    )
    may, june = report.months[1], report.months[2]
    assert may.won == Decimal("5100.00") and may.weighted_pipeline == 0
    assert june.weighted_pipeline == Decimal("5483.33")  # 9000 × 0.60 + 83.33


def test_targets_must_be_months_and_now_aware():
    with pytest.raises(ValidationFailed) as info:
        forecast_vs_target([], period=Q2, tz=SHANGHAI, currency="CNY", models=MODELS, now=NOW, targets={Q2: Decimal(1)})
    assert info.value.field == "targets"
    with pytest.raises(ValidationFailed) as info:
        forecast_vs_target(
            [], period=Q2, tz=SHANGHAI, currency="CNY", models=MODELS, now=NOW.replace(tzinfo=None), targets={}
        )
    assert info.value.field == "now"


def test_each_opportunity_weighs_by_its_own_models_probability():
    facts = [
        created("d", at(2026, 4, 1), stage="formal_communication", amount="100000.00", close=date(2026, 6, 1)),
        created("r", at(2026, 4, 1), stage="demo", amount="1000.00", close=date(2026, 6, 1), model="retail"),
        # a model not published yet: the probability sent with the stage event stands in
        created("n", at(2026, 4, 1), stage="s1", amount="100.00", close=date(2026, 6, 1), model="new", probability=30),
    ]
    report = forecast_vs_target(facts, period=JUNE, tz=SHANGHAI, currency="CNY", models=MODELS, now=NOW, targets={})
    assert report.total.weighted_pipeline == Decimal("40530.00")  # 40,000 + 1000 × 50 % + 100 × 30 %
    only_default = forecast_vs_target(
        facts, period=JUNE, tz=SHANGHAI, currency="CNY", models=MODELS, now=NOW, targets={}, stage_model="default"
    )
    assert only_default.total.weighted_pipeline == Decimal("40000.00")
