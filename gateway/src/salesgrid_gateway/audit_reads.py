"""Sensitive reads (lists of customers and users, the audit trail, exports) in identity's audit
trail, without a synchronous call to identity on the read path.

The gateway owns no database, so it publishes the records as an event on its own JetStream stream
(`salesgrid.gateway.sensitive_reads.recorded`) and waits for the stream's acknowledgement before it
answers: once the response leaves, the record is stored and identity's durable audit consumer
writes it to the trail (in batches, exactly once, by record id). If the bus does not answer, the
read is refused with 503 rather than served unaudited. A worker's records are group-committed
(`group_commit`): the reads served while one publish waits for its acknowledgement are published
together by the next, so a busy worker sends one message per round trip, not one per read. Without
NATS (a gateway run against fake services in tests) the record goes to identity's RecordAudit RPC
as before."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from weakref import WeakKeyDictionary

from salesgrid.events.v1.gateway_events_pb2 import SensitiveRead, SensitiveReads
from salesgrid.identity.v1 import identity_pb2, identity_pb2_grpc
from salesgrid_common.events.bus import ensure_stream
from salesgrid_common.events.envelope import EventMeta, build_envelope, stream_name, subject_for
from salesgrid_common.ids import new_id
from salesgrid_common.protos import to_timestamp
from salesgrid_gateway.clients import call, stub
from salesgrid_gateway.group_commit import GroupCommit, Interrupted
from salesgrid_gateway.problems import ApiProblem
from salesgrid_gateway.shared_store import StoreUnavailable
from salesgrid_gateway.web import current, g, request

EVENT_TYPE = "salesgrid.gateway.sensitive_reads.recorded"
PRODUCER = "gateway"
BATCH_LIMIT = 100  # records per message: 100 details of at most 4,000 characters stay under NATS's 1 MB
_groups: WeakKeyDictionary[Any, tuple[asyncio.AbstractEventLoop, GroupCommit[SensitiveRead]]] = WeakKeyDictionary()


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
    principal = g.principal
    record = SensitiveRead(
        action=action,
        target_type=target_type,
        detail=detail[:4000],
        record_id=new_id(),
        actor_id=principal.subject_id,
        actor_ip=g.client_ip,
        org_path=principal.org_path,
        occurred_at=to_timestamp(datetime.now(UTC)),
    )
    try:
        await _records(app).add(record)
    except (StoreUnavailable, Interrupted):
        raise ApiProblem(
            503,
            "the audit trail cannot record this read now; retry later",
            headers={"Retry-After": "1"},
            code="AUDIT_UNAVAILABLE",
        ) from None


def _records(app: Any) -> GroupCommit[SensitiveRead]:
    """The app's group of records waiting to be published, on this event loop (a worker has one
    app and one loop; tests run apps on several loops, and a group's futures belong to one)."""
    loop = asyncio.get_running_loop()
    found = _groups.get(app)
    if found is None or found[0] is not loop:
        found = _groups[app] = (loop, GroupCommit(partial(_publish, app), limit=BATCH_LIMIT))
    return found[1]


async def _publish(app: Any, records: Sequence[SensitiveRead]) -> None:
    settings = app.settings
    envelope = build_envelope(
        EVENT_TYPE,
        PRODUCER,
        SensitiveReads(reads=records),
        EventMeta.acting(None, PRODUCER, aggregate_id="", org_path=""),
        datetime.now(UTC),
    )

    async def declare(js: Any) -> None:
        await ensure_stream(js, PRODUCER, settings.stream_replicas, settings.region)

    await app.store.publish(
        stream_name(PRODUCER, settings.region),
        declare,
        subject_for(EVENT_TYPE, settings.region),
        envelope.SerializeToString(),
        {"Nats-Msg-Id": envelope.event_id},
    )
