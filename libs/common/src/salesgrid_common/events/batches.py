"""Set-based event handlers: one statement for a run of events instead of one per event.

A consumer applies the first deliveries of a fetched batch in one transaction (see
`EventConsumer._handle_fresh_batch`). A subscription may give a handler a batch form
(`Subscription.on_batch`): the consumer splits the batch's fresh events into runs of consecutive
events routed to the same batch form and calls it once per run with `[(envelope, payload), ...]`
in the order fetched, so order across types is kept (a run ends where an event of another
handler comes). The batch form must leave the database as the handler would applied to each event
in turn; the handler itself stays for redeliveries and for a batch that failed, which are
handled one by one. Inbox rows, exactly-once and dead-lettering are the consumer's, unchanged.

`newest_per_key` is the usual reduction for a state projection kept with `claim_newer`: of a run's
events for one key only the one with the highest aggregate version can end applied."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.db import conflict_insert, dialect_name
from salesgrid_common.events.tables import projection_versions

Item = tuple[Envelope, Any]  # an event and its parsed payload
BatchHandler = Callable[[AsyncSession, list[Item]], Awaitable[object]]  # what it returns is not used

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def runs(items: Iterable[T], key: Callable[[T], K]) -> list[tuple[K, list[T]]]:
    """`items` cut into maximal runs of consecutive items with the same key (compared by
    identity: keys are handlers), in order."""
    out: list[tuple[K, list[T]]] = []
    for item in items:
        k = key(item)
        if out and out[-1][0] is k:
            out[-1][1].append(item)
        else:
            out.append((k, [item]))
    return out


def newest_per_key(items: Sequence[Item], key: Callable[[Any], str]) -> dict[str, Item] | None:
    """Key → the run's event with the highest aggregate version for it (the first of equals, as
    claim_newer applies only a strictly newer version). None if an event has no version: those
    are always applied, so the caller applies the run one event at a time instead."""
    newest: dict[str, Item] = {}
    for envelope, payload in items:
        if not envelope.aggregate_version:
            return None
        k = key(payload)
        held = newest.get(k)
        if held is None or envelope.aggregate_version > held[0].aggregate_version:
            newest[k] = (envelope, payload)
    return newest


@lru_cache(maxsize=4)
def _claim_many_statement(dialect: str) -> Any:
    statement = conflict_insert(dialect)(projection_versions)
    return statement.on_conflict_do_update(
        index_elements=["projection", "key"],
        set_={"version": statement.excluded.version},
        where=projection_versions.c.version < statement.excluded.version,
    ).returning(projection_versions.c.key, projection_versions.c.version)


async def claim_newer_many(session: AsyncSession, projection: str, newest: dict[str, Item]) -> list[str]:
    """`claim_newer` for many keys in one statement (one event per key, see newest_per_key): the
    keys whose event is newer than what `projection` applied, remembered."""
    if not newest:
        return []
    rows = [
        {"projection": projection, "key": key, "version": envelope.aggregate_version}
        for key, (envelope, _) in newest.items()
    ]
    statement = _claim_many_statement(dialect_name(session))
    claimed = (await session.execute(statement, rows)).all()
    return [key for key, version in claimed if newest[key][0].aggregate_version == version]
