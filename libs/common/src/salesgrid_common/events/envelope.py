"""Building and reading event envelopes. The type string is the routing key and the subject."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf.message import Message

from salesgrid.events.v1.envelope_pb2 import Envelope
from salesgrid_common.actors import Caller, actor_of
from salesgrid_common.ids import new_id
from salesgrid_common.tracing import current_trace_context
from salesgrid_common.protos import to_timestamp

_TYPE_PATTERN = re.compile(r"^salesgrid\.[a-z_]+\.[a-z_]+\.[a-z_]+$")
M = TypeVar("M", bound=Message)


def validate_event_type(event_type: str) -> str:
    if not _TYPE_PATTERN.match(event_type):
        raise ValueError(f"event type {event_type!r} is not salesgrid.<service>.<aggregate>.<verb>")
    return event_type


# Multi-region cells: every region runs its own services and streams in one NATS supercluster,
# so a region's stream name and subjects carry the region; the event *type* never does (it is
# the routing key). Without a region (single cell, embedded) names and subjects are plain.


def _region_token(region: str) -> str:
    return region.upper().replace("-", "_")


def stream_name(service: str, region: str = "") -> str:
    base = f"SALESGRID_{service.upper()}"
    return f"{base}_{_region_token(region)}" if region else base


def aggregate_stream_name(service: str) -> str:
    """The stream at HQ that sources one service's streams of every region."""
    return f"SALESGRID_{service.upper()}_ALL"


def subject_for(event_type: str, region: str = "") -> str:
    return f"{region}.{event_type}" if region else event_type


def stream_subjects(service: str, region: str = "") -> list[str]:
    return [subject_for(f"salesgrid.{service}.>", region)]


def producer_of(event_type: str) -> str:
    return event_type.split(".")[1]


@dataclass(frozen=True)
class EventMeta:
    """Who and where: the envelope fields a producer supplies besides the payload."""

    aggregate_id: str
    actor_id: str = ""
    org_path: str = ""
    actor_ip: str = ""

    @classmethod
    def acting(cls, principal: Caller | None, service: str, *, aggregate_id: str, org_path: str) -> EventMeta:
        """The metadata of an event `principal` caused (his id and address), or, with None, one
        service `service`'s own automation caused (``system:<service>``, no address): the one
        rule every producer's emit helper follows."""
        actor_id, actor_ip = actor_of(principal, service)
        return cls(aggregate_id=aggregate_id, actor_id=actor_id, org_path=org_path, actor_ip=actor_ip)


def build_envelope(
    event_type: str, producer: str, payload: Message, meta: EventMeta, occurred_at: datetime, aggregate_version: int = 0
) -> Envelope:
    validate_event_type(event_type)
    return Envelope(
        event_id=new_id(),
        type=event_type,
        occurred_at=to_timestamp(occurred_at),
        producer=producer,
        aggregate_id=meta.aggregate_id,
        actor_id=meta.actor_id,
        org_path=meta.org_path,
        actor_ip=meta.actor_ip,
        trace_context=current_trace_context(),
        payload=payload.SerializeToString(),
        aggregate_version=aggregate_version,
    )


def parse_envelope(data: bytes) -> Envelope:
    envelope = Envelope()
    envelope.ParseFromString(data)
    if not envelope.event_id or not envelope.type:
        raise ValueError("envelope without event_id or type")
    return envelope


def unpack(envelope: Envelope, payload_type: type[M]) -> M:
    message = payload_type()
    message.ParseFromString(envelope.payload)
    return message


def payload_of(envelope: Envelope, payload_type: type[Message] | None) -> Any:
    """A handler's argument: the typed payload, or the raw bytes for a catch-all handler."""
    return unpack(envelope, payload_type) if payload_type else envelope.payload
