"""Channel and partner performance: contract amount, collections, win rate, ranked."""

from datetime import date
from decimal import Decimal

import pytest
from analytics_factories import REP_A, REP_B, SHANGHAI, _base, at
from salesgrid_analytics.domain import facts as f
from salesgrid_analytics.domain.channels import ChannelBy, channel_performance, parse_channel_by
from salesgrid_analytics.domain.errors import ValidationFailed
from salesgrid_analytics.domain.periods import parse_period

MARCH = parse_period("2026-03")


def opened(opp: str, channel: str, partner: str, owner=REP_A):  # type: ignore[no-untyped-def]
    return f.OpportunityCreated(
        **_base(owner, at(2026, 2, 1), None),
        opportunity_id=opp,
        stage="opportunity",
        amount=Decimal(1000),
        currency="CNY",
        expected_close=date(2026, 3, 31),
        channel=channel,
        partner_id=partner,
    )


def signed(amount: str, channel: str, partner: str, when=at(2026, 3, 3), owner=REP_A, currency="CNY"):  # type: ignore[no-untyped-def]
    return f.ContractSigned(
        **_base(owner, when, None),
        contract_id=f"k-{amount}",
        amount=Decimal(amount),
        currency=currency,
        channel=channel,
        partner_id=partner,
    )


def paid(amount: str, channel: str, partner: str, owner=REP_A):  # type: ignore[no-untyped-def]
    return f.ReceiptRecorded(
        **_base(owner, at(2026, 3, 20), None),
        contract_id="k",
        amount=Decimal(amount),
        currency="CNY",
        channel=channel,
        partner_id=partner,
    )


FACTS = [
    opened("o-1", "agent", "p-1"),
    opened("o-2", "agent", "p-1"),
    opened("o-3", "distributor", "p-2"),
    opened("o-4", "direct", "", owner=REP_B),
    f.OpportunityWon(**_base(REP_A, at(2026, 3, 4), None), opportunity_id="o-1"),
    f.OpportunityLost(**_base(REP_A, at(2026, 3, 5), None), opportunity_id="o-2"),
    f.OpportunityWon(**_base(REP_A, at(2026, 3, 6), None), opportunity_id="o-3"),
    f.OpportunityLost(**_base(REP_B, at(2026, 3, 6), None), opportunity_id="o-4"),
    signed("5000.00", "agent", "p-1"),
    signed("8000.00", "distributor", "p-2"),
    signed("3000.00", "direct", "", owner=REP_B),
    signed("9999.00", "agent", "p-1", when=at(2026, 4, 2)),  # April: outside the period
    signed("7777.00", "agent", "p-1", currency="USD"),  # another currency
    paid("2000.00", "agent", "p-1"),
    paid("8000.00", "distributor", "p-2"),
    paid("1000.00", "direct", "", REP_B),
]


def test_per_channel_ranked_by_contract_amount_with_win_rate() -> None:
    lines, total = channel_performance(FACTS, by=ChannelBy.CHANNEL, period=MARCH, tz=SHANGHAI, currency="CNY")
    assert [(l.rank, l.key, l.contract_amount, l.collected, l.won, l.lost, l.win_rate) for l in lines] == [
        (1, "distributor", Decimal("8000.00"), Decimal("8000.00"), 1, 0, Decimal("1.0000")),
        (2, "agent", Decimal("5000.00"), Decimal("2000.00"), 1, 1, Decimal("0.5000")),
        (3, "direct", Decimal("3000.00"), Decimal("1000.00"), 0, 1, Decimal("0.0000")),
    ]
    assert (total.contract_amount, total.collected, total.contracts, total.win_rate) == (
        Decimal("16000.00"),
        Decimal("11000.00"),
        3,
        Decimal("0.5000"),
    )


def test_per_partner_leaves_direct_sales_out() -> None:
    lines, _ = channel_performance(FACTS, by=ChannelBy.PARTNER, period=MARCH, tz=SHANGHAI, currency="CNY")
    assert [(l.rank, l.key, l.channel, l.contract_amount) for l in lines] == [
        (1, "p-2", "distributor", Decimal("8000.00")),
        (2, "p-1", "agent", Decimal("5000.00")),
    ]


def test_scope_selection_and_bad_grouping() -> None:
    lines, _ = channel_performance(
        FACTS,
        by=ChannelBy.CHANNEL,
        period=MARCH,
        tz=SHANGHAI,
        currency="CNY",
        selection=f.Selection("/acme/east/sh/t2"),
    )
    assert [(l.key, l.contract_amount) for l in lines] == [("direct", Decimal("3000.00"))]
    assert parse_channel_by("") is ChannelBy.CHANNEL
    with pytest.raises(ValidationFailed) as caught:
        parse_channel_by("planet")
    assert caught.value.field == "by"
