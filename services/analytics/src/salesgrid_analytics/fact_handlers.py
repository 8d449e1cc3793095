"""Handlers that turn one event into (at most) one fact, with their batch form derived from them.

A fact handler is written once, as `make(lookups, envelope, payload) -> Fact | None`.
`FactHandlers.on` registers for it the handler of one event (make, then one insert) and a batch
form shared by every fact handler of the subscription, so a run of consecutive events of any of
those types (follow-ups, an opportunity created then moved) is stored with ONE insert
(`factstore.store_facts`) instead of one per event, and each customer named in the run is
resolved to its survivor once (`Lookups`), not once per event. What a maker reads must not be
written by the run itself (the batch inserts after every make): makers that read stored facts
stay plain handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_analytics import factstore
from salesgrid_analytics.domain import facts as f
from salesgrid_common.customer_merges import survivor_of
from salesgrid_common.events.batches import Item
from salesgrid_common.events.consumer import Subscription
from salesgrid_common.localtime import LocalCalendar, UnitCalendars


class Lookups:
    """What fact makers read, each asked once per transaction (a run's events often name the same
    customer or rep): a customer's survivor (merges, `survivor_of`: on PostgreSQL its shared
    lock is held to the end of the transaction, so the answer cannot change within it) and a
    user's calendar. Bounded by the run: one Lookups per handled event or run."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._survivors: dict[str, str] = {}
        self._calendars: UnitCalendars | None = None  # made when first asked (most events never do)

    async def survivor(self, customer_id: str) -> str:
        known = self._survivors.get(customer_id)
        if known is None:
            known = self._survivors[customer_id] = await survivor_of(self.session, customer_id)
        return known

    async def calendar(self, user_id: str) -> LocalCalendar:
        if self._calendars is None:
            self._calendars = UnitCalendars(self.session)
        return await self._calendars.of_user(user_id)


Make = Callable[[Lookups, Envelope, Any], Awaitable[f.Fact | None]]


class FactHandlers:
    """The fact handlers of one subscription (see the module text)."""

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self._makers: dict[str, Make] = {}
        # One object for every type: consecutive events of different fact types make one run
        # (runs compare their batch forms by identity; each `self._store_run` is a new one).
        self._run = self._store_run

    def on(self, event_type: str, payload_type: type[Message]) -> Callable[[Make], Make]:
        def register(make: Make) -> Make:
            async def handle(session: AsyncSession, envelope: Envelope, payload: Any) -> None:
                if fact := await make(Lookups(session), envelope, payload):
                    await factstore.store_fact(session, fact)

            self._makers[event_type] = make
            self.sub.on(event_type, payload_type)(handle)
            self.sub.on_batch(event_type)(self._run)
            return make

        return register

    async def _store_run(self, session: AsyncSession, items: list[Item]) -> None:
        lookups = Lookups(session)
        made = [await self._makers[envelope.type](lookups, envelope, payload) for envelope, payload in items]
        await factstore.store_facts(session, [fact for fact in made if fact is not None])
