"""Sensitive reads (lists of customers and users, the audit trail, exports) in identity's audit
trail, without a synchronous call to identity on the read path.

The gateway owns no database, so it publishes the record as an event on its own JetStream stream
(`salesgrid.gateway.sensitive_read.recorded`) and waits for the stream's acknowledgement before it
answers: once the response leaves, the record is stored and identity's durable audit consumer
writes it to the trail (in batches, exactly once, by event id). If the bus does not answer, the
read is refused with 503 rather than served unaudited. Without NATS (a gateway run against fake
services in tests) the record goes to identity's RecordAudit RPC as before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from salesgrid.events.v1.gateway_events_pb2 import SensitiveRead
from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.events.bus import ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope, stream_name, subject_for
from salesgrid_gateway.clients import call, stub
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.shared_store import StoreUnavailable
from salesgrid_gateway.web import current, g, request

EVENT_TYPE = "salesgrid.gateway.sensitive_read.recorded"
PRODUCER = "gateway"


async def record_sensitive_read(action: str, target_type: str, detail: str = "") -> None:
    detail = detail or request.full_path
    app = current().app
    store = app.store
    if not hasattr(store, "publish"):
        identity = stub(identity_pb2_grpc.IdentityStub, "identity_addr")
        await call(
            identity.RecordAudit,
            identity_pb2.RecordAuditRequest(
                action=action, target_type=target_type, detail=detail, client_ip=g.client_ip
            ),
        )
        return
    settings = app.settings
    principal = g.principal
    envelope = build_envelope(
        EVENT_TYPE,
        PRODUCER,
        SensitiveRead(action=action, target_type=target_type, detail=detail[:4000]),
        EventMeta(aggregate_id="", actor_id=principal.subject_id, org_path=principal.org_path, actor_ip=g.client_ip),
        datetime.now(UTC),
    )

    async def declare(js: Any) -> None:
        await ensure_stream(js, PRODUCER, settings.stream_replicas, settings.region)

    try:
        await store.publish(
            stream_name(PRODUCER, settings.region),
            declare,
            subject_for(EVENT_TYPE, settings.region),
            envelope.SerializeToString(),
            {"Nats-Msg-Id": envelope.event_id},
        )
    except StoreUnavailable:
        raise ApiProblem(
            503,
            "the audit trail cannot record this read now; retry later",
            headers={"Retry-After": "1"},
            code="AUDIT_UNAVAILABLE",
        ) from None
