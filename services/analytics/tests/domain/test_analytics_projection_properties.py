"""Projections must not depend on arrival order or on redelivered events."""

from datetime import date, datetime, timedelta, UTC
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain import orgpath
from salesgrid_analytics.domain.forecast import forecast_vs_target
from salesgrid_analytics.domain.funnel import funnel
from salesgrid_analytics.domain.metrics import Metric
from salesgrid_analytics.domain.attainment import monthly_trend
from salesgrid_analytics.domain.performance import performance
from salesgrid_analytics.domain.periods import parse_period

from analytics_factories import DEFAULT, MODELS, REP_A, REP_B, REP_C, SHANGHAI

START = datetime(2026, 1, 1, tzinfo=UTC)
OWNERS = [REP_A, REP_B, REP_C]
YEAR = parse_period("2026")


@st.composite
def histories(draw):
    """A consistent set of facts from several streams: opportunities, contracts, activities."""
    seq = iter(range(10**6))
    out: list[f.Fact] = []

    def env(owner, hours):
        return {
            "event_id": f"e{next(seq):05d}",
            "occurred_at": START + timedelta(hours=hours),
            "owner_id": owner[0],
            "org_path": owner[1],
        }

    for o in range(draw(st.integers(0, 5))):
        owner = draw(st.sampled_from(OWNERS))
        t = draw(st.integers(0, 8000))
        names = DEFAULT.names
        stage = draw(st.integers(0, 2))
        out.append(
            f.OpportunityCreated(
                **env(owner, t),
                opportunity_id=f"o{o}",
                stage=names[stage],
                amount=Decimal(draw(st.integers(0, 10**6))) / 100,
                currency="CNY",
                expected_close=date(2026, draw(st.integers(1, 12)), 1),
            )
        )
        for _ in range(draw(st.integers(0, 3))):
            if stage + 1 >= len(names):
                break
            t += draw(st.integers(1, 500))
            out.append(
                f.StageChanged(
                    **env(owner, t), opportunity_id=f"o{o}", from_stage=names[stage], to_stage=names[stage + 1]
                )
            )
            stage += 1
        outcome = draw(st.sampled_from([None, f.OpportunityWon, f.OpportunityLost]))
        if outcome is not None:
            out.append(outcome(**env(owner, t + draw(st.integers(1, 500))), opportunity_id=f"o{o}"))
    for c in range(draw(st.integers(0, 3))):
        owner = draw(st.sampled_from(OWNERS))
        t = draw(st.integers(0, 8000))
        out.append(f.ContractSigned(**env(owner, t), contract_id=f"k{c}", amount=Decimal(1000), currency="CNY"))
        for _ in range(draw(st.integers(0, 2))):
            out.append(
                f.ReceiptRecorded(
                    **env(owner, t + draw(st.integers(1, 900))),
                    contract_id=f"k{c}",
                    amount=Decimal(300),
                    currency="CNY",
                )
            )
    for _ in range(draw(st.integers(0, 8))):
        owner = draw(st.sampled_from(OWNERS))
        base = env(owner, draw(st.integers(0, 8700)))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            out.append(f.CustomerCreated(**base, customer_id="c"))
        elif kind == 1:
            out.append(f.CheckInRecorded(**base, customer_id="c", flagged=draw(st.booleans())))
        elif kind == 2:
            out.append(
                f.DailyReportSubmitted(
                    **base, report_date=base["occurred_at"].date(), timing=draw(st.sampled_from(list(f.ReportTiming)))
                )
            )
        elif kind == 3:
            out.append(f.DailyReportMissing(**base, report_date=base["occurred_at"].date()))
        else:
            out.append(f.GateViolated(**base, opportunity_id="o0", stage="bidding"))
    return out


def views(facts):
    return (
        funnel(facts, period=YEAR, tz=SHANGHAI, currency="CNY", stage_model=DEFAULT),
        funnel(
            facts,
            period=parse_period("2026-Q2"),
            tz=SHANGHAI,
            currency="CNY",
            stage_model=DEFAULT,
            selection=f.Selection("/acme/east"),
        ),
        performance(facts, period=YEAR, tz=SHANGHAI, currency="CNY"),
        performance(
            facts, period=parse_period("2026-07"), tz=SHANGHAI, currency="CNY", group_depth=orgpath.BRANCH_DEPTH
        ),
        monthly_trend(facts, metric=Metric.COLLECTED_REVENUE, period=YEAR, tz=SHANGHAI, currency="CNY"),
        forecast_vs_target(
            facts,
            period=YEAR,
            tz=SHANGHAI,
            currency="CNY",
            models=MODELS,
            now=START + timedelta(days=180),
            targets={parse_period("2026-08"): Decimal(500)},
        ),
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_same_views_for_any_order_and_duplicates(data):
    facts = data.draw(histories())
    expected = views(facts)
    shuffled = data.draw(st.permutations(facts))
    redelivered = data.draw(st.lists(st.sampled_from(facts), max_size=10)) if facts else []
    assert views(shuffled) == expected
    assert views(shuffled + redelivered + list(reversed(facts))) == expected
