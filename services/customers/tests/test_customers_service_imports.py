"""Importing customers from uploaded files through gRPC on SQLite and PostgreSQL: rows follow
the create rules, refused uploads write nothing, parsing runs off the event loop, a cancelled
import waits for its parsing thread, and the importer's customer cap."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from typing import Any

import grpc
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from salesgrid.customers.v1 import customers_pb2 as pb
from salesgrid.customers.v1 import customers_pb2_grpc as pb_grpc
from salesgrid_common.imports import files as importfiles
from salesgrid_common.imports import model as import_model
from salesgrid_dev.directory_seed import add_unit, replica
from salesgrid_dev.testing import RunningService, field_violations
from salesgrid_customers import models, usecases
from salesgrid_customers.domain import imports
from salesgrid_customers.app import usecases_for

from customers_fixtures import CREDIT_CODE, chunks, event_subjects, rpc_error, running_customers, seed_directory, token


HEADER = "legal_name,credit_code,tier,tags,address,latitude,longitude,owner_id\n"


def cuts_a_character(stream: list[pb.ImportChunk]) -> bool:
    try:
        for chunk in stream:
            chunk.data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


async def staged(running: RunningService) -> tuple[int, int]:
    """Import jobs and staged rows in the database."""
    async with running.app.ctx.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(models.ImportJob)),
            await session.scalar(select(func.count()).select_from(models.ImportRow)),
        )


async def test_import_rows_follow_the_create_rules(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, b, mgr = (token(test_keys, u) for u in ("rep-a", "rep-b", "mgr"))
        existing = (
            await api.CreateCustomer(pb.CreateCustomerRequest(legal_name="华为技术有限公司"), metadata=b)
        ).customer

        # A bad header refuses the whole file: nothing staged.
        bad = await rpc_error(api.StartImport(chunks(b"name,tier\nAcme,key\n"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "header" in field_violations(bad)
        bad = await rpc_error(api.StartImport(chunks(HEADER.encode()), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "file" in field_violations(bad)
        bad = await rpc_error(api.StartImport(chunks(b"legal_name\nx\n", fmt="pdf"), metadata=a))
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "format" in field_violations(bad)
        assert await staged(running) == (0, 0)

        body = (
            "\ufeff"
            + HEADER
            + f'"Acme, Shanghai Co., Ltd.",{CREDIT_CODE},key,vip;重点,"上海市\n浦东",31.2,121.5,\n'  # 1 ok
            "Beta Inc,,gold,,,,,\n"  # 2 bad tier
            "Gamma LLC,,,,,abc,,\n"  # 3 bad latitude
            ",,,,,,,\n"  # blank: skipped
            "ＡＣＭＥ， shanghai co. ltd,,,,,,,\n"  # 4 dup of row 1
            "华为技术（深圳）有限公司,,,,,,,\n"  # 5 dup of rep-b's
            "Delta GmbH,,,,,,,rep-c\n"  # 6 outside scope
            "Epsilon Ltd,,normal,,,,,\n"
        ).encode()  # 7 ok
        stream = chunks(body)
        assert len(stream) > 1 and cuts_a_character(stream)  # the service puts the pieces back together
        job = await api.StartImport(stream, metadata=a)
        assert (job.status, job.total, job.processed, job.created_by) == ("queued", 7, 0, "rep-a")

        # Progress: one batch of two rows at a time.
        monkeypatch.setattr(usecases.imports, "IMPORT_BATCH", 2)
        uc = usecases_for(running.app.ctx)
        async with running.app.ctx.sessions() as session:
            stored = await session.get(models.ImportJob, job.id)
        assert await uc._import_batch(stored) == 1
        progress = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (progress.status, progress.processed, progress.created, progress.failed) == ("running", 2, 1, 1)
        assert await uc.run_imports() == 1
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.status, done.total, done.processed, done.created, done.failed) == ("done", 7, 7, 2, 5)
        errors = {e.row: e for e in done.errors}
        assert sorted(errors) == [2, 3, 4, 5, 6]
        assert (errors[2].column, errors[3].column, errors[6].column) == ("tier", "latitude", "owner_id")
        assert errors[4].column == "legal_name" and "row 1" in errors[4].message
        assert errors[4].existing_owner_id == "rep-a"
        assert errors[5].existing_owner_id == "rep-b" and existing.id in errors[5].message
        # The created rows are real customers with the create's normalisation, owned by the importer.
        listed = await api.ListCustomers(pb.ListCustomersRequest(), metadata=a)
        assert sorted((c.legal_name, c.owner_id, c.tier) for c in listed.customers) == [
            ("Acme, Shanghai Co., Ltd.", "rep-a", "key"),
            ("Epsilon Ltd", "rep-a", "normal"),
        ]
        acme = next(c for c in listed.customers if c.tier == "key")
        assert list(acme.tags) == ["vip", "重点"] and acme.address.text == "上海市 浦东"
        assert (await event_subjects(running)).count("salesgrid.customers.customer.created") == 3
        # Errors are paged in row order.
        first = await api.GetImport(pb.GetImportRequest(id=job.id, page_size=2), metadata=a)
        second = await api.GetImport(pb.GetImportRequest(id=job.id, page_size=2, cursor=first.next_cursor), metadata=a)
        assert [e.row for e in (*first.errors, *second.errors)] == [2, 3, 4, 5]
        # Only the importer sees his job.
        hidden = await rpc_error(api.GetImport(pb.GetImportRequest(id=job.id), metadata=mgr))
        assert hidden.code() == grpc.StatusCode.NOT_FOUND

        # XLSX works like CSV.
        book = Workbook()
        book.active.append(["Legal Name", "Owner ID"])
        book.active.append(["Zeta Corp", "mgr"])
        xlsx = io.BytesIO()
        book.save(xlsx)
        job = await api.StartImport(chunks(xlsx.getvalue(), fmt="xlsx", size=4096), metadata=mgr)
        await uc.run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=mgr)
        assert (done.created, done.failed) == (1, 0)


async def test_import_upload_refusals_write_nothing(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a = token(test_keys, "rep-a")

        async def refused(stream: list[pb.ImportChunk], field: str, text: str) -> None:
            bad = await rpc_error(api.StartImport(stream, metadata=a))
            assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and field_violations(bad) == [field], bad
            assert text in bad.details()
            assert await staged(running) == (0, 0)

        # The format is read from the first chunk only.
        await refused(
            [pb.ImportChunk(data=b"legal_name\n"), pb.ImportChunk(format="csv", data=b"Acme Ltd\n")],
            "format",
            "format must be one of csv, xlsx",
        )
        await refused([], "format", "format must be one of csv, xlsx")
        await refused(chunks(b""), "file", "the file is empty")
        await refused([pb.ImportChunk(format="csv"), pb.ImportChunk()], "file", "the file is empty")
        # Over the size cap: refused as the chunks arrive.
        monkeypatch.setattr(imports, "MAX_FILE_BYTES", 1 << 20)
        big = ("legal_name\n" + "".join(f"Company {i:07d} Ltd\n" for i in range(60_000))).encode()
        assert len(big) > 1 << 20
        await refused(chunks(big, size=64 << 10), "file", "the file is larger than 1 MiB")
        # Over MAX_ROWS: batches already inserted roll back with the job.
        monkeypatch.setattr(imports, "MAX_ROWS", 3)
        monkeypatch.setattr(usecases.imports, "IMPORT_STAGE_BATCH", 2)
        await refused(chunks(b"legal_name\nA Ltd\nB Ltd\nC Ltd\nD Ltd\n"), "file", "at most 3 rows per import")
        job = await api.StartImport(chunks(b"legal_name\nA Ltd\n\nB Ltd\nC Ltd\n"), metadata=a)
        assert job.total == 3 and await staged(running) == (1, 3)


async def test_import_parses_off_the_event_loop(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is read and its rows checked in worker threads, a batch per trip; the loop only
    inserts."""
    parsed_on: set[int] = set()

    def recording_rows(spool: Any, fmt: str) -> Any:
        for cells in importfiles.read_rows(spool, fmt):
            parsed_on.add(threading.get_ident())
            yield cells

    monkeypatch.setattr(usecases.imports, "read_rows", recording_rows)
    monkeypatch.setattr(usecases.imports, "IMPORT_STAGE_BATCH", 100)
    checked_on: set[int] = set()
    row_values = imports.row_values

    def recording_values(header: Any, cells: Any) -> Any:
        checked_on.add(threading.get_ident())
        return row_values(header, cells)

    monkeypatch.setattr(import_model, "row_values", recording_values)  # the shared reader calls it
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        body = ("legal_name\n" + "".join(f"Company {i} Ltd\n" for i in range(250))).encode()
        job = await api.StartImport(chunks(body, size=1000), metadata=token(test_keys, "rep-a"))
        assert job.total == 250 and await staged(running) == (1, 250)
    loop_thread = threading.get_ident()  # the service runs on the test's loop
    assert parsed_on and checked_on and loop_thread not in parsed_on | checked_on


async def test_cancelled_import_waits_for_its_parsing_thread(
    database_url: str, nats_url: str, test_keys, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The file reader is closed only once the thread parsing a batch is out of it: no error, and
    the cancelled upload leaves nothing."""
    parsing, release, closed = threading.Event(), threading.Event(), threading.Event()

    def slow_rows(spool: Any, fmt: str) -> Any:
        try:
            for number, cells in enumerate(importfiles.read_rows(spool, fmt)):
                if number == 5:
                    parsing.set()
                    release.wait(5)
                yield cells
        finally:
            closed.set()

    monkeypatch.setattr(usecases.imports, "read_rows", slow_rows)
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        body = ("legal_name\n" + "".join(f"Company {i} Ltd\n" for i in range(50))).encode()
        call = api.StartImport(chunks(body, size=100), metadata=token(test_keys, "rep-a"))
        await asyncio.to_thread(parsing.wait, 5)
        call.cancel()
        await asyncio.sleep(0.2)  # the service sees the cancellation while the thread is still parsing
        release.set()
        assert await asyncio.to_thread(closed.wait, 5)
        assert await staged(running) == (0, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_import_caps_customers_held_by_the_importer(database_url: str, nats_url: str, test_keys) -> None:
    async with running_customers(database_url, nats_url, test_keys) as running:
        await seed_directory(running)
        api = pb_grpc.CustomersStub(running.channel)
        a, mgr = token(test_keys, "rep-a"), token(test_keys, "mgr")
        async with replica(running) as session:
            await add_unit(session, "t1", "/c/r1/b1/t1/", parent_id="b1")
        await api.PutPoolPolicy(
            pb.PoolPolicy(
                unit_id="t1",
                max_customers_per_rep=2,
                max_claims_per_day=5,
                reclaim_cooldown_days=1,
                return_after_days_without_follow_up=10,
                warning_days_before=2,
            ),
            metadata=mgr,
        )
        before = import_counters()
        job = await api.StartImport(chunks(b"legal_name\nOne Ltd\nTwo Ltd\nThree Ltd\n"), metadata=a)
        await usecases_for(running.app.ctx).run_imports()
        done = await api.GetImport(pb.GetImportRequest(id=job.id), metadata=a)
        assert (done.created, [(e.row, e.column) for e in done.errors]) == (2, [(3, "owner_id")])
        # The business counters follow the committed batches; the job is counted done once.
        await usecases_for(running.app.ctx).run_imports()
        assert [after - was for after, was in zip(import_counters(), before)] == [2, 1, 1]


def import_counters() -> list[float]:
    from prometheus_client import REGISTRY

    return [
        REGISTRY.get_sample_value("salesgrid_import_rows_processed_total", {"outcome": "created"}) or 0.0,
        REGISTRY.get_sample_value("salesgrid_import_rows_processed_total", {"outcome": "failed"}) or 0.0,
        REGISTRY.get_sample_value("salesgrid_imports_completed_total") or 0.0,
    ]
