"""Customer export jobs on SQLite and PostgreSQL: the file holds exactly the creator's scope,
written in several chunks as rows stream, in CSV and XLSX; progress and status; only the creator
reads or downloads it; bad requests name the field; every export is an event (audit trail); the
file is deleted after the retention period."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from salesgrid.common.v1 import exports_pb2 as pb
from salesgrid.common.v1 import exports_pb2_grpc as pb_grpc
from salesgrid_common.clock import FakeClock
from salesgrid_common.events.tables import outbox
from salesgrid_common.exports import files
from salesgrid_customers import models
from salesgrid_customers.app import DEFINITION, MIGRATIONS, exports_for
from salesgrid_customers.settings import CustomersSettings
from salesgrid_dev.testing import bearer, eventually, field_violations, principal, run_service

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
REP = {"customers:read": "own", "customers:export": "own"}
MANAGER = {"customers:read": "subtree", "customers:export": "subtree"}
OWNERS = {"rep-a": "/c/r1/b1/t1/", "rep-b": "/c/r1/b1/t2/", "rep-c": "/c/r2/b9/t9/"}


async def _seed(running, counts: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for owner, count in counts.items():
        for i in range(count):
            rows.append(
                {
                    "id": f"{owner}-{i:05d}",
                    "legal_name": f"={owner} Co {i}" if i == 0 else f"{owner} Co {i}",
                    "normalised_name": f"{owner} co {i}",
                    "tier": "key" if i % 2 else "normal",
                    "tags": ["t"],
                    "owner_id": owner,
                    "org_path": OWNERS[owner],
                    "active": True,
                    "version": 1,
                    "created_by": owner,
                    "created_at": START,
                    "updated_at": START,
                }
            )
    async with running.app.ctx.sessions() as session, session.begin():
        await session.execute(insert(models.Customer), rows)


async def _download(api: pb_grpc.ExportsStub, job_id: str, who) -> bytes:  # type: ignore[no-untyped-def]
    first = await api.DownloadExport(pb.DownloadExportRequest(id=job_id, seq=0), metadata=who)
    rest = [
        await api.DownloadExport(pb.DownloadExportRequest(id=job_id, seq=s), metadata=who)
        for s in range(1, first.chunks)
    ]
    return first.data + b"".join(c.data for c in rest)


async def test_exports_hold_the_creators_scope_stream_in_chunks_and_expire(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(files, "CHUNK_BYTES", 8192)  # several chunks from a small export
    clock = FakeClock(START)
    async with run_service(
        DEFINITION,
        MIGRATIONS,
        database_url,
        nats_url,
        test_keys,
        clock=clock,
        settings_cls=CustomersSettings,
        export_seconds=3600,
    ) as running:
        await _seed(running, {"rep-a": 1500, "rep-b": 7, "rep-c": 5})
        api = pb_grpc.ExportsStub(running.channel)
        who = {name: bearer(test_keys.token(principal(name, OWNERS[name], permissions=REP))) for name in OWNERS}
        manager = bearer(test_keys.token(principal("mgr", "/c/r1/b1/", permissions=MANAGER)))
        jobs = exports_for(running.app.ctx)

        for request, field in (
            (pb.CreateExportRequest(entity="nope", format="csv"), "entity"),
            (pb.CreateExportRequest(entity="customers", format="pdf"), "format"),
            (pb.CreateExportRequest(entity="customers", format="csv", filters={"x": "1"}), "filters.x"),
            (pb.CreateExportRequest(entity="customers", format="csv", filters={"tier": "gold"}), "filters.tier"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await api.CreateExport(request, metadata=who["rep-a"])
            assert field_violations(bad.value) == [field]
        reader_only = bearer(
            test_keys.token(principal("rep-a", OWNERS["rep-a"], permissions={"customers:read": "own"}))
        )
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await api.CreateExport(pb.CreateExportRequest(entity="customers", format="csv"), metadata=reader_only)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

        job = await api.CreateExport(pb.CreateExportRequest(entity="customers", format="csv"), metadata=who["rep-a"])
        assert job.status == "queued" and job.rows_written == 0
        xlsx = await api.CreateExport(
            pb.CreateExportRequest(entity="customers", format="xlsx", filters={"tier": "key"}), metadata=manager
        )
        await jobs.run_all()  # (the service's own runner may take one of them meanwhile)

        async def ready(job_id: str, caller) -> pb.ExportJob | None:  # type: ignore[no-untyped-def]
            found = await api.GetExport(pb.GetExportRequest(id=job_id), metadata=caller)
            return found if found.status == "ready" else None

        await eventually(lambda: ready(xlsx.id, manager))
        done = await eventually(lambda: ready(job.id, who["rep-a"]))
        assert done.status == "ready" and done.rows_written == 1500 and done.filename.endswith(".csv")
        assert from_ts(done.expires_at) == START + timedelta(hours=24)

        data = await _download(api, job.id, who["rep-a"])
        assert len(data) == done.bytes_written and done.bytes_written > 3 * 8192  # written in several chunks
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0][:3] == ["id", "legal_name", "credit_code"] and len(rows) == 1501
        assert {r[6] for r in rows[1:]} == {"rep-a"}  # exactly the creator's scope
        assert rows[1][1] == "'=rep-a Co 0"  # formula injection defused

        sheet = load_workbook(io.BytesIO(await _download(api, xlsx.id, manager)), read_only=True).active
        cells = list(sheet.iter_rows(values_only=True))
        owners = {r[6] for r in cells[1:]}
        assert owners == {"rep-a", "rep-b"} and all(r[3] == "key" for r in cells[1:])  # subtree b1, tier filter
        assert len(cells) - 1 == 750 + 3

        # Only the creator sees or downloads it.
        for other in (who["rep-b"], manager):
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await api.GetExport(pb.GetExportRequest(id=job.id), metadata=other)
            assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
            with pytest.raises(grpc.aio.AioRpcError) as hidden:
                await _download(api, job.id, other)
            assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
        mine = await api.ListExports(pb.ListExportsRequest(), metadata=who["rep-a"])
        assert [j.id for j in mine.items] == [job.id]

        async with running.app.ctx.sessions() as session:
            subjects = (await session.scalars(select(outbox.c.subject))).all()
        assert subjects.count("salesgrid.customers.export.requested") == 2  # (before the contacts export)
        assert subjects.count("salesgrid.customers.export.completed") == 2
        assert subjects.count("salesgrid.customers.export.downloaded") == 2  # refused attempts are not downloads

        # Contacts: those of the customers the creator may read.
        async with running.app.ctx.sessions() as session, session.begin():
            await session.execute(
                insert(models.Contact),
                [
                    {
                        "id": f"ct-{owner}",
                        "customer_id": f"{owner}-00001",
                        "full_name": f"Contact of {owner}",
                        "title": None,
                        "phones": ["+86 10 1234"],
                        "email": None,
                        "is_primary": True,
                        "created_at": START,
                    }
                    for owner in OWNERS
                ],
            )
        contacts = await api.CreateExport(
            pb.CreateExportRequest(entity="contacts", format="csv"), metadata=who["rep-b"]
        )
        await jobs.run_all()
        await eventually(lambda: ready(contacts.id, who["rep-b"]))
        lines = list(csv.DictReader(io.StringIO((await _download(api, contacts.id, who["rep-b"])).decode("utf-8-sig"))))
        assert [(line["id"], line["customer_legal_name"]) for line in lines] == [("ct-rep-b", "rep-b Co 1")]

        clock.advance(timedelta(hours=25))
        assert await jobs.purge_expired() == 3
        expired = await api.GetExport(pb.GetExportRequest(id=job.id), metadata=who["rep-a"])
        assert expired.status == "expired"
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await _download(api, job.id, who["rep-a"])
        assert gone.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def from_ts(stamp) -> datetime:  # type: ignore[no-untyped-def]
    return stamp.ToDatetime(tzinfo=UTC)
