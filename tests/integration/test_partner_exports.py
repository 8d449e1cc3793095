"""Export jobs through the gateway on the real platform: 202 with a job, progress until ready, a
file with exactly the creator's customers streamed to him alone, an idempotent retry of the POST,
an analytics report as a job, and every export in the audit trail."""

from __future__ import annotations

import csv
import io
import time
import uuid

import httpx
from salesgrid_dev.api import auth, created, org_unit, person, poll, problem, root_unit


def test_export_jobs_hold_the_callers_scope_and_are_audited(api: httpx.Client, admin_token: str) -> None:
    suffix = uuid.uuid4().hex[:8]
    root = root_unit(api, admin_token)
    unit_a = org_unit(api, admin_token, root["id"], f"Export A {suffix}")
    unit_b = org_unit(api, admin_token, root["id"], f"Export B {suffix}")
    rep_a_id, rep_a = person(api, admin_token, unit_a["id"], f"export.a.{suffix}", "rep")
    _, rep_b = person(api, admin_token, unit_b["id"], f"export.b.{suffix}", "rep")
    mine = {
        created(api.post("/v1/customers", headers=auth(rep_a), json={"legal_name": f"Export {suffix} Nr {i} GmbH"}))[
            "id"
        ]
        for i in range(3)
    }
    created(api.post("/v1/customers", headers=auth(rep_b), json={"legal_name": f"Other {suffix} AG"}))

    problem(api.post("/v1/exports", headers=auth(rep_a), json={"entity": "planets", "format": "csv"}), 400, "entity")
    problem(api.post("/v1/exports", headers=auth(rep_a), json={"entity": "customers", "format": "pdf"}), 400, "format")
    request = {"entity": "customers", "format": "csv", "filters": {}}
    key = {"Idempotency-Key": f"export-{suffix}"}
    job = api.post("/v1/exports", headers={**auth(rep_a), **key}, json=request)
    assert job.status_code == 202 and job.headers["Location"] == f"/v1/exports/{job.json()['id']}", job.text
    retry = api.post("/v1/exports", headers={**auth(rep_a), **key}, json=request)
    assert retry.status_code == 202 and retry.json()["id"] == job.json()["id"]  # one job for one key
    export_id = job.json()["id"]

    ready = poll(
        lambda: (r := api.get(f"/v1/exports/{export_id}", headers=auth(rep_a)).json())["status"] == "ready" and r,
        timeout=30,
    )
    assert ready["rows_written"] == 3 and ready["file"] == f"/v1/exports/{export_id}/file"
    download = api.get(ready["file"], headers=auth(rep_a))
    assert download.status_code == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert {r["id"] for r in rows} == mine and {r["owner_id"] for r in rows} == {rep_a_id}
    problem(api.get(f"/v1/exports/{export_id}", headers=auth(rep_b)), 404)
    problem(api.get(f"/v1/exports/{export_id}/file", headers=auth(rep_b)), 404)

    # Leads (pipeline) and follow-ups (activities) are served by their own services, same model.
    lead = created(
        api.post("/v1/leads", headers=auth(rep_a), json={"company_name": f"Lead {suffix}", "assign_to": rep_a_id})
    )
    created(api.post("/v1/leads", headers=auth(rep_b), json={"company_name": f"Other lead {suffix}"}))
    follow_up = created(
        api.post(
            "/v1/follow-ups",
            headers=auth(rep_a),
            json={
                "kind": "call",
                "occurred_at": "2026-01-05T10:00:00Z",
                "notes": "=cmd",
                "customer_id": next(iter(mine)),
            },
        )
    )
    created(
        api.post(
            "/v1/follow-ups",
            headers=auth(rep_b),
            json={
                "kind": "call",
                "occurred_at": "2026-01-05T10:00:00Z",
                "notes": "theirs",
                "customer_id": "cust-other",
            },
        )
    )
    opportunity = created(
        api.post(
            "/v1/opportunities",
            headers=auth(rep_a),
            json={
                "customer_id": next(iter(mine)),
                "name": f"Deal {suffix}",
                "amount": {"amount": "1000", "currency": "CNY"},
                "expected_close_date": "2027-03-31",
            },
        )
    )
    for entity, expected in (
        ("leads", {lead["id"]}),
        ("follow_ups", {follow_up["id"]}),
        ("opportunities", {opportunity["id"]}),
    ):
        started = api.post("/v1/exports", headers=auth(rep_a), json={"entity": entity, "format": "csv"})
        assert started.status_code == 202, started.text
        finished = poll(
            lambda: (
                (r := api.get(f"/v1/exports/{started.json()['id']}", headers=auth(rep_a)).json())["status"] == "ready"
                and r
            ),
            timeout=30,
        )
        lines = list(
            csv.DictReader(io.StringIO(api.get(finished["file"], headers=auth(rep_a)).content.decode("utf-8-sig")))
        )
        assert {line["id"] for line in lines} == expected, (entity, lines)

    # An analytics report is a job of the same model.
    period = time.strftime("%Y-%m")
    report = api.post(
        "/v1/exports",
        headers=auth(admin_token),
        json={"entity": "analytics_report", "format": "xlsx", "filters": {"report": "performance", "period": period}},
    )
    assert report.status_code == 202, report.text
    problem(
        api.post(
            "/v1/exports",
            headers=auth(admin_token),
            json={"entity": "analytics_report", "format": "xlsx", "filters": {"period": period}},
        ),
        400,
        "filters.report",
    )
    done = poll(
        lambda: (
            (r := api.get(f"/v1/exports/{report.json()['id']}", headers=auth(admin_token)).json())["status"] == "ready"
            and r
        ),
        timeout=30,
    )
    sheet = api.get(done["file"], headers=auth(admin_token))
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"  # an XLSX (zip) file

    def audited() -> list:  # type: ignore[type-arg]
        reply = api.get(f"/v1/audit-events?target_id={export_id.split('.', 1)[1]}", headers=auth(admin_token))
        return sorted(e["action"] for e in reply.json()["items"])

    assert poll(lambda: len(audited()) == 3 and audited(), timeout=30) == [
        "customers.export.completed",
        "customers.export.downloaded",
        "customers.export.requested",
    ]
