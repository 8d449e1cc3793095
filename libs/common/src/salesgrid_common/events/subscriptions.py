"""What a durable consumer handles (Subscription: event type -> payload class and handler, with
optional batch forms) and where it reads (Topology: its region's stream or HQ's aggregate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.events.batches import BatchHandler
from salesgrid_common.events.envelope import aggregate_stream_name, producer_of, stream_name, subject_for

Handler = Callable[[AsyncSession, Envelope, Any], Awaitable[object]]  # what it returns is not used


@dataclass
class Subscription:
    """What one durable consumer handles: event type → (payload class, handler)."""

    name: str  # <consumer service>-<purpose>
    producer: str  # the service whose stream is read
    # event type → (payload class, handler); the key `salesgrid.<producer>.>` catches every type
    # and its handler receives the raw payload bytes.
    handlers: dict[str, tuple[type[Message] | None, Handler]] = field(default_factory=dict)
    # the same keys → the set-based form of the handler (see events.batches), for a batch's runs
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)
    max_deliver: int = 6  # deliveries before an event is dead-lettered (enforced by the consumer)
    backoff_seconds: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)

    def on(self, event_type: str, payload_type: type[Message]) -> Callable[[Handler], Handler]:
        if producer_of(event_type) != self.producer:
            raise ValueError(f"{event_type} is not published by {self.producer}")

        def register(handler: Handler) -> Handler:
            self.handlers[event_type] = (payload_type, handler)
            return handler

        return register

    def on_any(self, handler: Handler) -> Handler:
        self.handlers[f"salesgrid.{self.producer}.>"] = (None, handler)
        return handler

    def on_batch(self, event_type: str) -> Callable[[BatchHandler], BatchHandler]:
        """The set-based form of the handler registered (first) for `event_type`: it receives a run
        of consecutive fresh events of the batch, in order, and must leave what the handler would
        leave applied to each in turn. The handler itself stays: redeliveries and a batch that
        failed are handled one by one with it."""
        if event_type not in self.handlers:
            raise ValueError(f"register the handler of {event_type} before its batch form")

        def register(handler: BatchHandler) -> BatchHandler:
            self.batch_handlers[event_type] = handler
            return handler

        return register

    def on_any_batch(self, handler: BatchHandler) -> BatchHandler:
        """The batch form of the `on_any` handler."""
        return self.on_batch(f"salesgrid.{self.producer}.>")(handler)

    def route(self, event_type: str) -> tuple[type[Message] | None, Handler] | None:
        return self.handlers.get(event_type) or self.handlers.get(f"salesgrid.{self.producer}.>")

    def batch_route(self, event_type: str) -> BatchHandler | None:
        """The batch form of the handler `route` picks, if it has one."""
        key = event_type if event_type in self.handlers else f"salesgrid.{self.producer}.>"
        return self.batch_handlers.get(key)


@dataclass(frozen=True)
class Topology:
    """Where a consumer reads: its own region's stream, or (at HQ) the aggregate stream that
    sources the producer's stream of every listed region. Empty: a single cell."""

    region: str = ""
    source_regions: tuple[str, ...] = ()
    replicas: int = 1

    def stream(self, producer: str) -> str:
        return aggregate_stream_name(producer) if self.source_regions else stream_name(producer, self.region)

    def filter_subject(self, event_type: str) -> str:
        # Sourced messages keep their regional subjects: match any region prefix.
        return f"*.{event_type}" if self.source_regions else subject_for(event_type, self.region)
