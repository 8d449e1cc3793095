"""Lead imports through the gateway (REST): the body streams to the pipeline service, which stages
it as a job (202 + Location) and creates the rows in the background; the job answers its progress
and its refused rows, paged."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from openpyxl import Workbook

from salesgrid_common.clock import FakeClock
from salesgrid_dev.testing import principal, run_service, stand_in_identity
from salesgrid_dev.gateway_client import test_client
from salesgrid_gateway.app import create_app
from salesgrid_gateway.rest import uploads
from salesgrid_gateway.settings import GatewaySettings
from salesgrid_pipeline.app import DEFINITION, MIGRATIONS
from salesgrid_pipeline.settings import PipelineSettings
from pipeline_fixtures import REP_PERMS, START

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def finished_import(client: Any, body: bytes, content_type: str, headers: dict[str, str]) -> dict[str, Any]:
    """POST the file, then read the job at its Location until the service has run every row."""
    started = client.post("/v1/leads/imports", data=body, headers={**headers, "Content-Type": content_type})
    assert started.status_code == 202, started.get_json()
    job = started.get_json()
    assert started.headers["Location"] == f"/v1/leads/imports/{job['id']}"
    assert job["status"] == "queued" and job["total"] > 0
    deadline = time.monotonic() + 30
    while job["status"] != "done":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        read = client.get(started.headers["Location"], headers=headers)
        assert read.status_code == 200, read.get_json()
        job = read.get_json()
    return job


async def test_lead_import_routes(database_url: str, nats_url: str, test_keys) -> None:
    async with (
        stand_in_identity(test_keys) as identity_addr,
        run_service(
            DEFINITION,
            MIGRATIONS,
            database_url,
            nats_url,
            test_keys,
            clock=FakeClock(START),
            settings_cls=PipelineSettings,
            import_seconds=0.1,
        ) as running,
    ):
        client = test_client(
            create_app(GatewaySettings(environment="test", identity_addr=identity_addr, pipeline_addr=running.address))
        )
        rep = {"Authorization": f"Bearer {test_keys.token(principal('rep-1', '/c/r1/t1/', permissions=REP_PERMS))}"}
        other = {"Authorization": f"Bearer {test_keys.token(principal('rep-2', '/c/r1/t1/', permissions=REP_PERMS))}"}

        def scenario() -> None:
            # a body larger than the gateway's chunk size reaches the service whole (blank rows of
            # spaces in the middle are skipped and not numbered)
            rows = [f"Lead {i:04d},{'x' * 300 if i % 100 == 7 else 'ok'}@example.com" for i in range(800)]
            padding = [" " * 1000 + "," for _ in range(1200)]
            body = ("company_name,email\n" + "\n".join(rows[:400] + padding + rows[400:]) + "\n").encode()
            assert len(body) > uploads.IMPORT_CHUNK_BYTES
            job = finished_import(client, body, "text/csv", rep)
            assert (job["total"], job["created"], job["failed"]) == (800, 792, 8)
            assert [(e["row"], e["column"]) for e in job["errors"]] == [(i + 1, "email") for i in range(7, 800, 100)]
            page = client.get(f"/v1/leads/imports/{job['id']}?limit=3", headers=rep).get_json()
            assert [e["row"] for e in page["errors"]] == [8, 108, 208] and page["next_cursor"]
            rest = client.get(f"/v1/leads/imports/{job['id']}?limit=10&cursor={page['next_cursor']}", headers=rep)
            assert [e["row"] for e in rest.get_json()["errors"]] == [308, 408, 508, 608, 708]
            assert not rest.get_json().get("next_cursor")
            garbled = client.get(f"/v1/leads/imports/{job['id']}?cursor=nope", headers=rep)
            assert garbled.status_code == 400 and garbled.mimetype == "application/problem+json"
            assert [e["field"] for e in garbled.get_json()["errors"]] == ["cursor"]
            assert client.get(f"/v1/leads/imports/{job['id']}", headers=other).status_code == 404

            book = Workbook()
            for cells in (
                ["company_name", "phone", "estimated_amount", "currency"],
                ["表格公司", 13800138000, 5, "CNY"],
            ):
                book.active.append(cells)
            out = io.BytesIO()
            book.save(out)
            job = finished_import(client, out.getvalue(), XLSX, rep)
            assert (job["format"], job["created"], job["errors"]) == ("xlsx", 1, [])
            made, cursor = [], ""
            while cursor is not None:  # the whole pool (no next() here: a StopIteration in a thread hangs the test)
                page = client.get(f"/v1/lead-pool?limit=200&cursor={cursor}", headers=rep).get_json()
                made += [lead for lead in page["items"] if lead["company_name"] == "表格公司"]
                cursor = page["next_cursor"]
            assert [(lead["phone"], lead["estimated_amount"]) for lead in made] == [
                ("13800138000", {"amount": "5", "currency": "CNY"})
            ]

            wrong = client.post(
                "/v1/leads/imports", data=b"company_name\nX\n", headers={**rep, "Content-Type": "text/plain"}
            )
            assert wrong.status_code == 415 and wrong.mimetype == "application/problem+json"
            header = client.post(
                "/v1/leads/imports", data=b"company_name,shoe_size\nX,42\n", headers={**rep, "Content-Type": "text/csv"}
            )
            assert header.status_code == 400 and header.mimetype == "application/problem+json"
            assert [e["field"] for e in header.get_json()["errors"]] == ["header"]
            assert "shoe_size" in header.get_json()["errors"][0]["message"]

        await asyncio.to_thread(scenario)
