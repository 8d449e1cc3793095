"""Channel and partner performance over the caller's scope (analytics:read), as a report and as an
export table; the same scope resolution as every report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from salesgrid_analytics.domain.channels import ChannelBy, ChannelLine, channel_performance, parse_channel_by
from salesgrid_analytics.domain.exports import Cell
from salesgrid_common.auth.principal import Principal

if TYPE_CHECKING:
    from salesgrid_analytics.usecases import AnalyticsUseCases, Query, View

READ = "analytics:read"


async def channel_report(
    uc: AnalyticsUseCases, principal: Principal, query: Query
) -> tuple[View, ChannelBy, tuple[ChannelLine, ...], ChannelLine]:
    by = parse_channel_by(query.by)  # before loading anything: a bad `by` is named at once
    view, facts = await uc._resolved(principal, READ, query)
    lines, total = channel_performance(
        facts, by=by, period=view.period, tz=view.tz, currency=view.currency, selection=view.selection
    )
    return view, by, lines, total


async def channel_table(
    uc: AnalyticsUseCases, principal: Principal, query: Query
) -> tuple[list[str], list[list[Cell]]]:
    """The leaderboard's lines, then the total (key "total"); the win rate as text (a ratio)."""
    _, by, lines, total = await channel_report(uc, principal, query)

    def row(key: str, line: ChannelLine) -> list[Cell]:
        return [
            line.rank or None,
            key,
            line.channel,
            line.contract_amount,
            line.contracts,
            line.collected,
            line.won,
            line.lost,
            None if line.win_rate is None else str(line.win_rate),
        ]

    rows = [row(line.key, line) for line in lines]
    rows.append(row("total", total))
    return ["rank", by.value, "channel", "contract_amount", "contracts", "collected", "won", "lost", "win_rate"], rows
