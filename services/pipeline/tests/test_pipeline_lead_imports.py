"""Lead imports through the pipeline service's gRPC API (SQLite and PostgreSQL): a CSV or XLSX file
streamed in chunks, staged as a job, its rows created by the runner under exactly the rules of
CreateLead (validation, scope, assignment rules), refused rows reported with their column."""

from __future__ import annotations

import asyncio
import io

import grpc
import pytest
from openpyxl import Workbook

from salesgrid.common.v1 import imports_pb2 as ipb
from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid.pipeline.v1 import pipeline_pb2_grpc as pb_grpc
from salesgrid_common.imports.jobs import ImportJobs
from salesgrid_common.imports.tables import import_jobs, import_rows
from salesgrid_dev.directory_seed import add_user, replica
from salesgrid_dev.testing import bearer, field_violations, principal
from salesgrid_pipeline.app import usecases_for
from sqlalchemy import func, select
from pipeline_fixtures import (
    MANAGER_PERMS,
    REP_PERMS,
    add_assignment_team,
    expect_error,
    money,
    pipeline,
    subjects,
)

HEADER = "company_name,contact_name,phone,email,region,industry,source,estimated_amount,currency,assign_to\n"


def chunks(data: bytes, fmt: str = "csv", size: int = 64):  # type: ignore[no-untyped-def]
    async def stream():  # type: ignore[no-untyped-def]
        yield ipb.ImportChunk(format=fmt, data=data[:size])
        for start in range(size, len(data), size):
            yield ipb.ImportChunk(data=data[start : start + size])

    return stream()


async def import_leads_file(running, data: bytes, metadata, fmt: str = "csv") -> ipb.ImportJob:  # type: ignore[no-untyped-def]
    """Start the import, run the runner to its end, read the job with all its row errors."""
    api = pb_grpc.PipelineStub(running.channel)
    job = await api.StartLeadImport(chunks(data, fmt), metadata=metadata)
    assert job.status == "queued" and job.total > 0
    await usecases_for(running.app.ctx).run_lead_imports()
    return await api.GetLeadImport(ipb.GetImportRequest(id=job.id, page_size=100), metadata=metadata)


def running_pipeline(database_url: str, nats_url: str, test_keys):  # type: ignore[no-untyped-def]
    # The runner is driven by the test, not by the background tick.
    return pipeline(database_url, nats_url, test_keys, import_seconds=3600)


async def staged(running) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with running.app.ctx.sessions() as session:
        jobs = await session.scalar(select(func.count()).select_from(import_jobs))
        rows = await session.scalar(select(func.count()).select_from(import_rows))
    return int(jobs or 0), int(rows or 0)


async def test_lead_import_rows_follow_the_single_create_rules(database_url: str, nats_url: str, test_keys) -> None:
    async with running_pipeline(database_url, nats_url, test_keys) as running:
        api = pb_grpc.PipelineStub(running.channel)
        await add_assignment_team(running)
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        manager = bearer(test_keys.token(principal("mgr-1", org_path="/c/r1/", permissions=MANAGER_PERMS)))
        await api.PutLeadAssignmentRules(
            pb.PutLeadAssignmentRulesRequest(rules=[pb.LeadAssignmentRule(region="华东", team_id="t1")]),
            metadata=manager,
        )
        bad = {  # row -> (the values as a single create sends them, the column the import names)
            2: (pb.CreateLeadRequest(region="华东"), "company_name"),
            4: (pb.CreateLeadRequest(company_name="Bad mail", email="not-an-address"), "email"),
            6: (pb.CreateLeadRequest(company_name="Negative", estimated_amount=money("-5")), "estimated_amount"),
            7: (pb.CreateLeadRequest(company_name="Odd money", estimated_amount=money("10", "XXX")), "currency"),
            8: (pb.CreateLeadRequest(company_name="Far away", assign_to="rep-x"), "assign_to"),
            9: (pb.CreateLeadRequest(company_name="Ghost", assign_to="ghost"), "assign_to"),  # unknown user
        }
        body = (
            HEADER
            + "East 1,张三,13800000000,a@example.com,华东,machinery,fair,1000.50,CNY,\n"  # 1: round robin → rep-a
            + ",,,,华东,,,,,\n"  # 2: company_name missing
            + "East 2,,,,华东,,,,,\n"  # 3: round robin → rep-b
            + "Bad mail,,,not-an-address,,,,,,\n"  # 4
            + "Bad amount,,,,,,,abc,CNY,\n"  # 5: not a number (the file's own check)
            + "Negative,,,,,,,-5,CNY,\n"  # 6
            + "Odd money,,,,,,,10,XXX,\n"  # 7
            + "Far away,,,,,,,,,rep-x\n"  # 8: outside the manager's scope
            + ",,,,,,,,,\n"  # blank: skipped, not numbered
            + "Ghost,,,,,,,,,ghost\n"  # 9: unknown user
            + "Chosen,,,,华东,,,,,rep-c\n"  # 10: explicit assignee wins
            + "Pool,,,,华南\n"  # 11: short row, no rule: the pool
        )
        job = await import_leads_file(running, body.encode(), manager)
        assert (job.status, job.total, job.processed, job.created, job.failed) == ("done", 11, 11, 4, 7)
        assert job.created_by == "mgr-1" and job.HasField("finished_at")
        assert [(e.row, e.column) for e in job.errors] == sorted(
            [(5, "estimated_amount")] + [(row, column) for row, (_, column) in bad.items()]
        )
        # The same values sent one by one are refused by CreateLead for the same field.
        for row, (request, column) in bad.items():
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await api.CreateLead(request, metadata=manager)
            error = raised.value
            refused = next(e for e in job.errors if e.row == row)
            assert refused.message == error.details() or refused.message in error.details(), (row, refused.message)
        leads = (await api.ListLeads(pb.ListLeadsRequest(page_size=50), metadata=manager)).leads
        assert sorted((lead.company_name, lead.status, lead.owner_id) for lead in leads) == [
            ("Chosen", "assigned", "rep-c"),
            ("East 1", "assigned", "rep-a"),
            ("East 2", "assigned", "rep-b"),
            ("Pool", "pool", ""),
        ]
        assert next(lead for lead in leads if lead.company_name == "East 1").estimated_amount == money("1000.50")
        events = [e.removeprefix("salesgrid.pipeline.") for e in await subjects(running)]
        assert events.count("lead.created") == 4 and events.count("lead.assigned") == 3  # bad rows wrote nothing

        # a rep without leads:assign: assign_to is a row error, the rest is created (the rules still apply)
        job = await import_leads_file(
            running, b"company_name,region,assign_to\nMine,,rep-b\nEast 3,\xe5\x8d\x8e\xe4\xb8\x9c,\n", rep
        )
        assert [(e.row, e.column) for e in job.errors] == [(1, "assign_to")] and job.created == 1
        assert await expect_error(
            api.CreateLead(pb.CreateLeadRequest(company_name="Mine", assign_to="rep-b"), metadata=rep),
            grpc.StatusCode.PERMISSION_DENIED,
        )
        # the importer alone reads his job
        await expect_error(
            api.GetLeadImport(ipb.GetImportRequest(id=job.id), metadata=manager), grpc.StatusCode.NOT_FOUND
        )


async def test_lead_import_of_an_xlsx_workbook(database_url: str, nats_url: str, test_keys) -> None:
    """A spreadsheet's numbers arrive as the text a person typed: the phone as digits, the amount as
    its decimal."""
    async with running_pipeline(database_url, nats_url, test_keys) as running:
        api = pb_grpc.PipelineStub(running.channel)
        async with replica(running) as session:
            await add_user(session, "rep-a", "/c/r1/t1/")
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        book = Workbook()
        for row in (
            ["Company Name", "Phone", "Estimated Amount", "Currency", None],
            ["星辰科技", 13800138000, 2500, "CNY", None],
            [None, None, None, None, None],
            ["Half", None, 99.5, "USD", None],
            ["No currency", None, 12, None, None],
        ):
            book.active.append(row)
        out = io.BytesIO()
        book.save(out)
        job = await import_leads_file(running, out.getvalue(), rep, fmt="xlsx")
        assert (job.format, job.total, job.created, job.failed) == ("xlsx", 3, 2, 1)
        assert [(e.row, e.column) for e in job.errors] == [(3, "currency")]
        leads = {lead.company_name: lead for lead in (await api.ListLeads(pb.ListLeadsRequest(), metadata=rep)).leads}
        assert leads["星辰科技"].phone == "13800138000" and leads["星辰科技"].estimated_amount == money("2500")
        assert leads["Half"].estimated_amount == money("99.5", "USD")


async def test_a_bad_lead_file_is_refused_whole(database_url: str, nats_url: str, test_keys) -> None:
    async with running_pipeline(database_url, nats_url, test_keys) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))

        async def refused(data: bytes, field: str, fmt: str = "csv", who=rep):  # type: ignore[no-untyped-def]
            error = await expect_error(
                api.StartLeadImport(chunks(data, fmt), metadata=who), grpc.StatusCode.INVALID_ARGUMENT
            )
            assert field_violations(error)[0] == field, error.details()
            return error

        error = await refused(b"company_name,shoe_size\nX,42\n", "header")
        assert "shoe_size" in error.details() and "assign_to" in error.details()
        await refused(b"contact_name\nX\n", "header")  # company_name is required
        await refused(b"company_name,company_name\nX,Y\n", "header")
        error = await refused(b"company_name,cf_colour\nX,red\n", "header")  # no such custom field of leads
        assert "cf_colour" in error.details()
        await refused(b"company_name\n", "file")  # no data rows
        await refused(b"", "file")
        await refused(b"company_name\n\xff\xfe\n", "file")  # not UTF-8
        await refused(b"company_name\nX\n", "format", fmt="pdf")
        await refused(b"company_name\nX\n", "file", fmt="xlsx")  # not a workbook
        assert await staged(running) == (0, 0)
        reader = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions={"leads:read": "own"})))
        await expect_error(
            api.StartLeadImport(chunks(b"company_name\nX\n"), metadata=reader), grpc.StatusCode.PERMISSION_DENIED
        )
        assert await staged(running) == (0, 0)


async def test_lead_import_errors_are_paged_in_row_order(database_url: str, nats_url: str, test_keys) -> None:
    async with running_pipeline(database_url, nats_url, test_keys) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        body = "company_name,email\n" + "".join(f"L{i},{'bad' if i % 2 else 'ok@example.com'}\n" for i in range(1, 8))
        job = await import_leads_file(running, body.encode(), rep)
        assert (job.created, job.failed) == (3, 4)
        first = await api.GetLeadImport(ipb.GetImportRequest(id=job.id, page_size=3), metadata=rep)
        assert [e.row for e in first.errors] == [1, 3, 5] and first.next_cursor
        rest = await api.GetLeadImport(
            ipb.GetImportRequest(id=job.id, page_size=3, cursor=first.next_cursor), metadata=rep
        )
        assert [e.row for e in rest.errors] == [7] and not rest.next_cursor
        await expect_error(
            api.GetLeadImport(ipb.GetImportRequest(id=job.id, cursor="garbled"), metadata=rep),
            grpc.StatusCode.INVALID_ARGUMENT,
            "cursor",
        )
        await expect_error(api.GetLeadImport(ipb.GetImportRequest(id="nope"), metadata=rep), grpc.StatusCode.NOT_FOUND)


async def test_two_runners_share_a_lead_import_without_doubles(database_url: str, nats_url: str, test_keys) -> None:
    """Two replicas' runners on one job (PostgreSQL: rows claimed with SKIP LOCKED; SQLite: one
    process, its runner serialised) create each row once."""
    async with running_pipeline(database_url, nats_url, test_keys) as running:
        api = pb_grpc.PipelineStub(running.channel)
        rep = bearer(test_keys.token(principal("rep-a", org_path="/c/r1/t1/", permissions=REP_PERMS)))
        body = "company_name\n" + "".join(f"Shared {i:04d}\n" for i in range(450))
        job = await api.StartLeadImport(chunks(body.encode(), size=4096), metadata=rep)
        uc = usecases_for(running.app.ctx)
        replica = ImportJobs(uc.sessions, uc.clock, uc.lead_imports.importer, batch=50)
        if database_url.startswith("sqlite"):
            replica = uc.lead_imports  # one runner per process: the same one, called twice at once
        created = await asyncio.gather(uc.run_lead_imports(), replica.run_all())
        assert sum(created) == 450
        done = await api.GetLeadImport(ipb.GetImportRequest(id=job.id), metadata=rep)
        assert (done.status, done.processed, done.created, done.failed) == ("done", 450, 450, 0)
        events = [e.removeprefix("salesgrid.pipeline.") for e in await subjects(running)]
        assert events.count("lead.created") == 450
