"""One request is one trace, across processes: a partner's traceparent reaches the gateway, whose
SERVER span continues it (same trace id, the partner's span as parent) → the gateway's gRPC CLIENT
span → the customers service's SERVER span → the outbox record span written in that transaction →
the relay's PRODUCER span publishing it → one CONSUMER span per durable consumer of the event, in
each consuming service. Every process exports its spans over OTLP to the test's receiver; the set of
consumers is read from JetStream, so a new consumer of the event must join the trace too."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import nats
from salesgrid_dev.api import auth
from salesgrid_dev.platform import Platform
from salesgrid_dev.spans import ReceivedSpan, SpanReceiver

EVENT = "salesgrid.customers.customer.created"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching (`*` one token, `>` the rest)."""
    pattern_tokens, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(pattern_tokens) == len(tokens)


async def consumers_of(nats_url: str, stream: str, subject: str) -> set[str]:
    connection = await nats.connect(nats_url)
    try:
        found = set()
        for info in await connection.jetstream().consumers_info(stream):
            config = info.config
            filters = list(config.filter_subjects or ()) + ([config.filter_subject] if config.filter_subject else [])
            if any(subject_matches(f, subject) for f in filters):
                found.add(info.name)
        return found
    finally:
        await connection.close()


def ancestors(span: ReceivedSpan, by_id: dict[str, ReceivedSpan]) -> list[str]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span.span_id)
    return chain


def test_a_partner_request_is_one_trace_through_gateway_service_outbox_relay_and_consumers(
    platform: Platform, api: httpx.Client, admin_token: str, spans: SpanReceiver
) -> None:
    trace_id, partner_span = secrets.token_hex(16), secrets.token_hex(8)
    reply = api.post(
        "/v1/customers",
        headers={**auth(admin_token), "traceparent": f"00-{trace_id}-{partner_span}-01"},
        json={"legal_name": f"追踪{uuid.uuid4().hex[:8]}有限公司"},
    )
    assert reply.status_code == 201, reply.text
    # In a thread of its own: another test's browser driver may keep an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        consumers = pool.submit(
            asyncio.run, consumers_of(f"nats://127.0.0.1:{platform.ports.nats}", "SALESGRID_CUSTOMERS", EVENT)
        ).result(timeout=30)
    assert {"analytics", "webhooks"} <= {name.split("-")[0] for name in consumers}, consumers

    def consumed_by(found: list[ReceivedSpan]) -> set[str]:
        return {s.attributes.get("messaging.consumer.group.name", "") for s in found if s.name == f"consume {EVENT}"}

    def complete(found: list[ReceivedSpan]) -> bool:
        # Each process exports its spans in its own batches: wait for every part, in any order.
        names = {(s.service, s.kind) for s in found}
        return (
            consumers <= consumed_by(found)
            and {("gateway", "SERVER"), ("gateway", "CLIENT"), ("customers", "SERVER"), ("customers", "PRODUCER")}
            <= names
        )

    trace = spans.wait_for(trace_id, complete)
    by_id = {span.span_id: span for span in trace}

    def one(**wanted: str) -> ReceivedSpan:
        matching = [s for s in trace if all(getattr(s, k) == v for k, v in wanted.items())]
        assert len(matching) == 1, (wanted, [(s.service, s.kind, s.name) for s in trace])
        return matching[0]

    gateway = one(service="gateway", kind="SERVER")
    assert gateway.parent_id == partner_span  # the partner's trace continued, not replaced
    client = one(service="gateway", kind="CLIENT", name="salesgrid.customers.v1.Customers/CreateCustomer")
    assert gateway.span_id in ancestors(client, by_id)
    server = one(service="customers", kind="SERVER", name="/salesgrid.customers.v1.Customers/CreateCustomer")
    assert server.parent_id == client.span_id
    record = one(service="customers", name=f"outbox record {EVENT}")
    assert server.span_id in ancestors(record, by_id)
    publish = one(service="customers", kind="PRODUCER", name=f"publish {EVENT}")
    assert publish.parent_id == record.span_id
    handling = [s for s in trace if s.name == f"consume {EVENT}"]
    assert consumed_by(handling) == consumers
    for span in handling:
        assert span.kind == "CONSUMER" and span.parent_id == publish.span_id
        assert span.service == span.attributes["messaging.consumer.group.name"].split("-")[0]
    # One tree: every span's parent is in the trace, except the gateway's (the partner's span).
    assert [s.name for s in trace if s.parent_id not in by_id and s is not gateway] == []
