from datetime import date, datetime, UTC
from decimal import Decimal

import pytest

from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.facts import ReportTiming, Selection
from salesgrid_analytics.domain.metrics import Metric
from salesgrid_analytics.domain.attainment import actual, attainment_report, monthly_trend
from salesgrid_analytics.domain.performance import (
    PerformanceRow,
    RankedEntry,
    compliance,
    leaderboard,
    performance,
    rank,
)
from salesgrid_analytics.domain.periods import parse_period
from salesgrid_analytics.domain.targets import Holder, Target

from analytics_factories import (
    REP_B,
    REP_C,
    SHANGHAI,
    at,
    check_in,
    customer,
    falsified,
    follow_up,
    gate,
    missing,
    receipt,
    report,
    signed,
    sla,
)

MARCH = parse_period("2026-03")


def scenario():
    return [
        signed("k1", "10000.00", at(2026, 1, 15)),
        receipt("k1", "3000.00", at(2026, 2, 10)),
        receipt("k1", "2000.00", at(2026, 3, 10)),
        receipt("k1", "5000.00", at(2026, 5, 10)),
        signed("k2", "4000.00", at(2026, 3, 20)),
        signed("k3", "100.00", at(2026, 3, 20), currency="USD"),
        customer(at(2026, 3, 2)),
        customer(at(2026, 3, 3)),
        follow_up(at(2026, 3, 4)),
        check_in(at(2026, 3, 5)),
        check_in(at(2026, 3, 6), flagged=True),
        # 01:00 on 1 April in Shanghai although still 31 March in UTC: April's visit.
        check_in(datetime(2026, 3, 31, 17, 0, tzinfo=UTC)),
        report(date(2026, 3, 2), ReportTiming.ON_TIME, at(2026, 3, 2, 17)),
        report(date(2026, 3, 3), ReportTiming.LATE, at(2026, 3, 3, 19)),
        # Detected the next morning, but it is March's missing report.
        missing(date(2026, 3, 31), at(2026, 4, 1, 9)),
        falsified(date(2026, 3, 2), at(2026, 3, 9)),
        sla("o1", at(2026, 3, 8)),
        gate("o1", at(2026, 3, 8)),
        gate("o1", at(2026, 3, 9)),
        # Rep B in the same branch, rep C in another region.
        signed("k4", "7000.00", at(2026, 3, 1), owner=REP_B),
        receipt("k4", "7000.00", at(2026, 3, 2), owner=REP_B),
        customer(at(2026, 3, 2), owner=REP_B),
        report(date(2026, 3, 2), ReportTiming.ON_TIME, at(2026, 3, 2, 17), owner=REP_B),
        signed("k5", "500.00", at(2026, 3, 1), owner=REP_C),
    ]


def row(rows, key):
    return next(r for r in rows if r.key == key)


def test_per_rep_figures_for_a_month():
    rows = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY")
    a = row(rows, "rep-a")
    assert a.contract_amount == Decimal("4000.00")  # the USD contract is not in CNY figures
    assert a.collections == Decimal("2000.00")
    assert (a.new_customers, a.follow_ups, a.visits, a.flagged_visits) == (2, 1, 1, 1)
    assert (a.reports_on_time, a.reports_late, a.reports_missing, a.reports_falsified) == (1, 1, 1, 1)
    assert a.report_compliance == Decimal("0.3333")
    assert (a.sla_overdue, a.gate_violations) == (1, 2)
    # k1: 10000 − 3000 − 2000 still open at the end of March, plus all of k2.
    assert a.receivables_outstanding == Decimal("9000.00")
    b = row(rows, "rep-b")
    assert (b.contract_amount, b.collections, b.receivables_outstanding) == (Decimal("7000.00"), Decimal("7000.00"), 0)
    assert b.report_compliance == Decimal("1.0000")
    assert [r.key for r in rows] == ["rep-a", "rep-b", "rep-c"]


def test_receivables_are_as_of_period_end():
    year = row(performance(scenario(), period=parse_period("2026"), tz=SHANGHAI, currency="CNY"), "rep-a")
    assert year.receivables_outstanding == Decimal("4000.00")
    feb = row(performance(scenario(), period=parse_period("2026-02"), tz=SHANGHAI, currency="CNY"), "rep-a")
    assert feb.receivables_outstanding == Decimal("7000.00")
    assert feb.contract_amount == 0  # a group with only receivables still shows


def test_group_by_branch_and_region():
    by_branch = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY", group_depth=orgpath.BRANCH_DEPTH)
    assert [r.key for r in by_branch] == ["/acme/east/sh", "/acme/west/cd"]
    sh = row(by_branch, "/acme/east/sh")
    assert sh.contract_amount == Decimal("11000.00")
    assert sh.new_customers == 3
    assert sh.report_compliance == Decimal("0.5000")
    by_region = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY", group_depth=orgpath.REGION_DEPTH)
    assert row(by_region, "/acme/west").contract_amount == Decimal("500.00")
    by_team = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY", group_depth=orgpath.TEAM_DEPTH)
    assert [r.key for r in by_team] == ["/acme/east/sh/t1", "/acme/east/sh/t2", "/acme/west/cd/t1"]


def test_selection_limits_rows():
    rows = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY", selection=Selection("/acme/east"))
    assert [r.key for r in rows] == ["rep-a", "rep-b"]


@pytest.mark.parametrize("depth", [0, -1, True])
def test_bad_group_depth_rejected(depth):
    with pytest.raises(ValidationFailed) as info:
        performance([], period=MARCH, tz=SHANGHAI, currency="CNY", group_depth=depth)
    assert info.value.field == "group_depth"


def test_rank_ties_share_a_rank():
    ranked = rank({"a": Decimal(100), "b": Decimal(100), "c": Decimal(50), "d": Decimal(200)})
    assert ranked == (
        RankedEntry(1, "d", Decimal(200)),
        RankedEntry(2, "a", Decimal(100)),
        RankedEntry(2, "b", Decimal(100)),
        RankedEntry(4, "c", Decimal(50)),
    )
    assert [e.rank for e in rank({"x": 1, "y": 1, "z": 1})] == [1, 1, 1]
    assert [e.key for e in rank({"a": 3, "b": 1}, descending=False)] == ["b", "a"]


def test_leaderboard_on_a_performance_field():
    rows = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY")
    board = leaderboard(rows, "contract_amount")
    assert [(e.rank, e.key) for e in board] == [(1, "rep-b"), (2, "rep-a"), (3, "rep-c")]
    assert len(leaderboard(rows, "contract_amount", limit=1)) == 1
    compliance = leaderboard(rows, "report_compliance")
    assert [e.key for e in compliance] == ["rep-b", "rep-a"]  # rep C has no reports: not ranked


def test_leaderboard_rejects_unknown_field_and_limit():
    with pytest.raises(ValidationFailed) as info:
        leaderboard([], "profit")
    assert info.value.field == "by"
    with pytest.raises(ValidationFailed) as info:
        leaderboard([], "visits", limit=0)
    assert info.value.field == "limit"


def test_actual_per_metric():
    facts = scenario()
    q1 = parse_period("2026-Q1")
    assert actual(
        facts,
        metric=Metric.COLLECTED_REVENUE,
        period=q1,
        tz=SHANGHAI,
        currency="CNY",
        selection=Selection("/acme", "rep-a"),
    ) == Decimal("5000.00")
    assert actual(facts, metric=Metric.CONTRACT_AMOUNT, period=q1, tz=SHANGHAI, currency="CNY") == Decimal("21500.00")
    assert actual(facts, metric=Metric.NEW_CUSTOMERS, period=q1, tz=SHANGHAI) == 3
    assert actual(facts, metric=Metric.VISITS, period=q1, tz=SHANGHAI) == 1  # flagged excluded, April excluded


def test_money_metric_needs_currency():
    with pytest.raises(ValidationFailed) as info:
        actual([], metric=Metric.CONTRACT_AMOUNT, period=MARCH, tz=SHANGHAI)
    assert info.value.field == "currency"


def test_monthly_trend_has_every_month():
    trend = monthly_trend(
        scenario(), metric=Metric.COLLECTED_REVENUE, period=parse_period("2026-Q1"), tz=SHANGHAI, currency="CNY"
    )
    assert [(p.month.label, p.value) for p in trend] == [
        ("2026-01", 0),
        ("2026-02", Decimal("3000.00")),
        ("2026-03", Decimal("9000.00")),
    ]
    visits = monthly_trend(scenario(), metric=Metric.VISITS, period=parse_period("2026-Q2"), tz=SHANGHAI)
    assert [p.value for p in visits] == [1, 0, 0]


def test_attainment_report_per_target():
    targets = [
        Target(
            Metric.COLLECTED_REVENUE,
            parse_period("2026-Q1"),
            Holder("/acme/east/sh/t1", "rep-a"),
            Decimal("10000.00"),
            "CNY",
        ),
        Target(Metric.CONTRACT_AMOUNT, MARCH, Holder("/acme/east"), Decimal("22000.00"), "CNY"),
        Target(Metric.VISITS, MARCH, Holder("/acme/west"), Decimal(0)),
    ]
    rows = attainment_report(scenario(), targets, tz=SHANGHAI)
    assert [(r.actual, r.attainment) for r in rows] == [
        (Decimal("5000.00"), Decimal("0.5000")),
        (Decimal("11000.00"), Decimal("0.5000")),
        (0, None),
    ]


def _reports(key: str, on_time: int, late: int, missing: int, falsified: int) -> PerformanceRow:
    zero = Decimal("0.00")
    return PerformanceRow(key, zero, zero, 3, 0, 0, 0, on_time, late, missing, falsified, None, 0, 0, zero)


def test_compliance_counts_due_reports_and_leaves_out_reps_without_any():
    rows, total = compliance([_reports("a", 3, 1, 0, 0), _reports("b", 0, 0, 0, 0), _reports("c", 0, 0, 2, 1)], "/t/")
    assert [(r.key, r.due, r.compliance) for r in rows] == [("a", 4, Decimal("0.7500")), ("c", 2, Decimal("0"))]
    assert (total.key, total.on_time, total.late, total.missing, total.falsified, total.due) == ("/t/", 3, 1, 2, 1, 6)
    assert total.compliance == Decimal("0.5000")
    assert compliance([], "/")[1].compliance is None


def test_the_declared_report_dimensions_are_the_ones_analytics_applies():
    """salesgrid_common.analytics_reports declares each report's `by` for the gateway: the leaderboard's
    are exactly the performance row's fields, and every report named there is one analytics serves."""
    from dataclasses import fields

    from salesgrid_analytics.domain.performance import PerformanceRow
    from salesgrid_analytics.usecases import _REPORTS
    from salesgrid_common.analytics_reports import RANKABLE_FIELDS, REPORT_BY

    assert RANKABLE_FIELDS == tuple(f.name for f in fields(PerformanceRow) if f.name != "key")
    assert set(REPORT_BY) <= set(_REPORTS)
    rows = performance(scenario(), period=MARCH, tz=SHANGHAI, currency="CNY")
    for by in RANKABLE_FIELDS:
        leaderboard(rows, by)  # every declared value ranks
    with pytest.raises(ValidationFailed) as info:
        leaderboard(rows, "profit")
    assert info.value.field == "by" and "contract_amount" in info.value.message
