"""Packs: one JetStream message carrying several events of one subject (transport only).

The relay publishes consecutive outbox rows bound for the same subject as one message when they
are already waiting together (it never waits to fill one), up to `MAX_PACK_EVENTS` events or
`MAX_PACK_BYTES` bytes; a lone row is published as a plain message, as before. Consumers unpack a
pack into its events and handle each as if it had arrived alone: inbox, redelivery counter and
dead letter per event id. The envelopes inside are the stored outbox bytes, unchanged.

Layout: `MAGIC`, then per event a 4-byte big-endian length and the envelope bytes, a 2-byte
length and the event's trace carrier (`traceparent[ tracestate]`, empty when no span is
exported). An envelope always starts with field 1's tag (0x0A): a pack starts with 0x00, which is
no protobuf tag, so a reader that parses a pack as one envelope fails loudly (DecodeError) instead
of reading something else. Its Nats-Msg-Id derives from its event ids, so publishing the same
rows again is caught by the stream's duplicate window; rows packed differently after a relay
crash are absorbed per event by the consumers' inbox.

Every reader of a stream goes through `events_of` (or `unpack_message`): a plain message is a
pack of one."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

MAGIC = b"\x00SGPK1"
PACK_HEADER = "Salesgrid-Pack"  # the number of events, for people looking at the stream
MAX_PACK_EVENTS = 100
MAX_PACK_BYTES = 512 * 1024  # well under NATS' default max_payload (1 MiB)

_LENGTH = struct.Struct(">I")
_CARRIER_LENGTH = struct.Struct(">H")
R = TypeVar("R")


@dataclass(frozen=True)
class Packed:
    """One event of a message: its envelope bytes and the trace headers that travel with it."""

    data: bytes
    headers: dict[str, str]


def is_pack(data: bytes) -> bool:
    return data.startswith(MAGIC)


def encode_pack(events: Sequence[tuple[bytes, dict[str, str]]]) -> bytes:
    """A pack of (envelope bytes, trace carrier) in order."""
    parts = [MAGIC]
    for data, carrier in events:
        trace = " ".join(carrier[k] for k in ("traceparent", "tracestate") if carrier.get(k)).encode()
        parts += [_LENGTH.pack(len(data)), data, _CARRIER_LENGTH.pack(len(trace)), trace]
    return b"".join(parts)


def decode_pack(data: bytes) -> list[Packed]:
    """The events of a pack, in order; ValueError if it is not a well-formed pack."""
    if not is_pack(data):
        raise ValueError("not an event pack")
    out: list[Packed] = []
    at, end = len(MAGIC), len(data)
    while at < end:
        if at + _LENGTH.size > end:
            raise ValueError("truncated event pack")
        (size,) = _LENGTH.unpack_from(data, at)
        at += _LENGTH.size
        envelope = data[at : at + size]
        at += size
        if len(envelope) != size or at + _CARRIER_LENGTH.size > end:
            raise ValueError("truncated event pack")
        (trace_size,) = _CARRIER_LENGTH.unpack_from(data, at)
        at += _CARRIER_LENGTH.size
        trace = data[at : at + trace_size].decode()
        at += trace_size
        if len(trace) != trace_size:
            raise ValueError("truncated event pack")
        out.append(Packed(envelope, _carrier(trace)))
    if not out:
        raise ValueError("empty event pack")
    return out


def _carrier(trace: str) -> dict[str, str]:
    if not trace:
        return {}
    traceparent, _, tracestate = trace.partition(" ")
    return {"traceparent": traceparent, **({"tracestate": tracestate} if tracestate else {})}


def unpack_message(data: bytes, headers: dict[str, str] | None) -> list[Packed]:
    """The events a message carries: a pack's, or the message itself (with its headers)."""
    if is_pack(data):
        return decode_pack(data)
    return [Packed(data, dict(headers or {}))]


def events_of(data: bytes) -> list[bytes]:
    """The envelope bytes a message carries, for readers that need no trace context."""
    return [event.data for event in decode_pack(data)] if is_pack(data) else [data]


def pack_id(event_ids: Sequence[str]) -> str:
    """The Nats-Msg-Id of a pack: the same for the same events in the same order."""
    digest = hashlib.sha256("\n".join(event_ids).encode()).hexdigest()[:32]
    return f"pack-{event_ids[0]}-{len(event_ids)}-{digest}"


def group_rows(
    rows: Sequence[R],
    subject: Callable[[R], str],
    size: Callable[[R], int],
    *,
    max_events: int = MAX_PACK_EVENTS,
    max_bytes: int = MAX_PACK_BYTES,
) -> list[list[R]]:
    """`rows` (in outbox order) cut into packs: maximal runs of consecutive rows of one subject, a
    new pack started where the subject changes or where adding a row would pass either bound."""
    packs: list[list[R]] = []
    used = 0
    for row in rows:
        cost = size(row) + _LENGTH.size + _CARRIER_LENGTH.size + 128  # room for a trace carrier
        current = packs[-1] if packs else None
        if (
            current is None
            or subject(current[0]) != subject(row)
            or len(current) >= max_events
            or used + cost > max_bytes
        ):
            packs.append([row])
            used = len(MAGIC) + cost
        else:
            current.append(row)
            used += cost
    return packs


def chunks(items: Sequence[R], size: Callable[[R], int], limit: int) -> list[list[R]]:
    """`items` (messages) cut, in order and whole, into chunks of at most `limit` events by
    `size` (one carrying more is a chunk alone): one consumer transaction each."""
    out: list[list[R]] = []
    count = 0
    for item in items:
        if out and count + size(item) <= limit:
            out[-1].append(item)
            count += size(item)
        else:
            out.append([item])
            count = size(item)
    return out
