"""Analytics reports as export jobs (salesgrid_common.exports), beside the older synchronous
download: the same report tables, scoped the same way, written by the job runner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from salesgrid_common.auth.principal import Principal
from salesgrid_common.errors import ValidationFailed
from salesgrid_common.exports.jobs import Exporter

from salesgrid_analytics.usecases import _REPORTS, EXPORT, AnalyticsUseCases, Query

TEXT_FILTERS = ("period", "subtree", "rep_id", "currency", "time_zone", "by", "from_period", "to_period", "metric")
NUMBER_FILTERS = ("group_depth", "limit")


def _query(filters: Mapping[str, str]) -> Query:
    numbers = {}
    for name in NUMBER_FILTERS:
        if name in filters:
            try:
                numbers[name] = int(filters[name])
            except ValueError:
                raise ValidationFailed("must be a whole number", f"filters.{name}") from None
    return Query(**{"period": "", **{n: filters[n].strip() for n in TEXT_FILTERS if n in filters}, **numbers})


def _validate(filters: Mapping[str, str]) -> None:
    if filters.get("report") not in _REPORTS:
        raise ValidationFailed(f"must be one of {', '.join(_REPORTS)}", "filters.report")
    _query(filters)


def report_exporter(usecases: AnalyticsUseCases) -> Exporter:
    async def table(principal: Principal, filters: Mapping[str, str]) -> tuple[Sequence[str], Iterable[Sequence[Any]]]:
        return await _REPORTS[filters["report"]](usecases, principal, _query(filters))

    return Exporter(
        entity="analytics_report",
        permission=EXPORT,
        table=table,
        validate=_validate,
        filters=frozenset({"report", *TEXT_FILTERS, *NUMBER_FILTERS}),
        required=frozenset({"report"}),
    )
