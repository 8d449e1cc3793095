"""Channel and partner performance (渠道业绩): per sales channel (direct, agent, distributor) or
per channel partner — contract amount signed, money collected, opportunities won and lost and
the win rate — ranked as a leaderboard by contract amount.

Built from the facts pipeline's and contracts' events carry: an opportunity's channel and
partner on its creation, a contract's on its signing, and each receipt carries its contract's.
Wins and losses count in the period they happened, attributed through their opportunity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from salesgrid_common import analytics_reports
from salesgrid_common.analytics_reports import ChannelBy

from .facts import (
    ContractSigned,
    Fact,
    OpportunityCreated,
    OpportunityLost,
    OpportunityWon,
    ReceiptRecorded,
    Selection,
    unique_facts,
)
from .money import ratio, round_money
from .periods import Period


def parse_channel_by(value: str) -> ChannelBy:
    return ChannelBy(analytics_reports.parse_by("channels", value))


@dataclass(frozen=True)
class ChannelLine:
    rank: int
    key: str  # the channel, or the partner id (the direct channel has no partner: "")
    channel: str
    contract_amount: Decimal
    contracts: int
    collected: Decimal
    won: int
    lost: int
    win_rate: Decimal | None  # won / (won + lost)


def channel_performance(
    facts: Iterable[Fact],
    *,
    by: ChannelBy,
    period: Period,
    tz: ZoneInfo,
    currency: str,
    selection: Selection = Selection(),
) -> tuple[tuple[ChannelLine, ...], ChannelLine]:
    """Lines ranked by contract amount (then collected, then key) and the selection's total."""
    facts = unique_facts(facts)
    attributed: dict[str, tuple[str, str]] = {}  # opportunity -> (channel, partner), whenever created
    for fact in facts:
        if isinstance(fact, OpportunityCreated):
            attributed[fact.opportunity_id] = (fact.channel or "direct", fact.partner_id)
    amount: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    contracts: dict[tuple[str, str], int] = defaultdict(int)
    collected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    won: dict[tuple[str, str], int] = defaultdict(int)
    lost: dict[tuple[str, str], int] = defaultdict(int)

    def key_of(channel: str, partner: str) -> tuple[str, str]:
        channel = channel or "direct"
        return (channel, "") if by is ChannelBy.CHANNEL else (channel, partner)

    for fact in facts:
        if not selection.covers(fact.owner_id, fact.org_path) or not period.contains(fact.occurred_at, tz):
            continue
        if isinstance(fact, ContractSigned) and fact.currency == currency:
            amount[key_of(fact.channel, fact.partner_id)] += fact.amount
            contracts[key_of(fact.channel, fact.partner_id)] += 1
        elif isinstance(fact, ReceiptRecorded) and fact.currency == currency:
            collected[key_of(fact.channel, fact.partner_id)] += fact.amount
        elif isinstance(fact, (OpportunityWon, OpportunityLost)):
            counts = won if isinstance(fact, OpportunityWon) else lost
            counts[key_of(*attributed.get(fact.opportunity_id, ("direct", "")))] += 1
    keys = set(amount) | set(collected) | set(won) | set(lost)
    if by is ChannelBy.PARTNER:
        keys = {k for k in keys if k[1]}  # partners only: direct sales have none
    ordered = sorted(keys, key=lambda k: (-amount[k], -collected[k], k))
    lines = tuple(
        ChannelLine(
            rank,
            k[1] if by is ChannelBy.PARTNER else k[0],
            k[0],
            round_money(amount[k]),
            contracts[k],
            round_money(collected[k]),
            won[k],
            lost[k],
            ratio(won[k], won[k] + lost[k]),
        )
        for rank, k in enumerate(ordered, 1)
    )
    total_won, total_lost = sum(line.won for line in lines), sum(line.lost for line in lines)
    total = ChannelLine(
        0,
        "",
        "",
        round_money(sum((line.contract_amount for line in lines), Decimal(0))),
        sum(line.contracts for line in lines),
        round_money(sum((line.collected for line in lines), Decimal(0))),
        total_won,
        total_lost,
        ratio(total_won, total_won + total_lost),
    )
    return lines, total
