"""`make bench` — a customer CSV import through the gateway on the embedded platform: rows per
second from upload to the job's `done` (duplicate check and the single-create rules included),
and the p99 of a customer read while the import runs, against the same read on the idle
platform measured in the same run.

`SALESGRID_BENCH_IMPORT_ROWS` (default 100000) sets the file's size; `SALESGRID_BENCH_DB=postgresql`
runs the services on a throwaway PostgreSQL cluster; `SALESGRID_BENCH_IMPORT_FORMAT=xlsx` uploads
the same rows as an XLSX workbook instead of CSV."""

from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from gateway import prepare, running_platform

ROWS = int(os.environ.get("SALESGRID_BENCH_IMPORT_ROWS", "100000"))
FORMAT = os.environ.get("SALESGRID_BENCH_IMPORT_FORMAT", "csv")
CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def table(rows: int) -> list[tuple[str, str, str]]:
    lines = [("legal_name", "tier", "industry")]
    lines += [(f"导入基准{n:06d}号贸易有限公司", "key" if n % 10 == 0 else "normal", "制造业") for n in range(rows)]
    lines.append(("导入基准000001号贸易有限公司", "normal", "制造业"))  # a duplicate inside the file: one per-row error
    return lines


def file_body(rows: int) -> bytes:
    if FORMAT == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        for line in table(rows):
            sheet.append(line)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    return ("\n".join(",".join(line) for line in table(rows)) + "\n").encode()


def read_latencies(api: httpx.Client, url: str, stop: threading.Event, out: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        api.get(url).raise_for_status()
        out.append((time.perf_counter() - started) * 1000)
        time.sleep(0.02)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp)) as platform:
        with httpx.Client(base_url=platform.gateway_url, timeout=120) as api:
            data = prepare(api)
            reader = httpx.Client(
                base_url=platform.gateway_url, timeout=30, headers={"Authorization": f"Bearer {data['rep']}"}
            )
            url = f"/v1/customers/{data['customer']}"
            idle: list[float] = []
            stop = threading.Event()
            threading.Timer(5.0, stop.set).start()
            read_latencies(reader, url, stop, idle)

            body = file_body(ROWS)
            api.headers["Authorization"] = f"Bearer {data['admin']}"
            # The admin imports the whole file as its owner: no per-rep customer cap at the root.
            api.put(
                f"/v1/pool-policies/{data['root']}", json={"reclaim_cooldown_days": 0, "warning_days_before": 0}
            ).raise_for_status()
            during: list[float] = []
            stop = threading.Event()
            watcher = threading.Thread(target=read_latencies, args=(reader, url, stop, during))
            started = time.perf_counter()
            reply = api.post("/v1/customers/imports", content=body, headers={"Content-Type": CONTENT_TYPES[FORMAT]})
            if reply.status_code != 202:
                raise SystemExit(f"import refused: {reply.status_code} {reply.text[:300]}")
            uploaded = time.perf_counter() - started
            watcher.start()
            job_url = reply.headers["Location"]
            while True:
                job = api.get(job_url).json()
                if job["status"] == "done":
                    break
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            stop.set()
            watcher.join()
    database = os.environ.get("SALESGRID_BENCH_DB", "sqlite")
    print(
        f"\n{FORMAT.upper()} import of {ROWS} customers on {database}: upload {uploaded:.1f} s, done after {elapsed:.1f} s "
        f"= {ROWS / elapsed:.0f} rows/s (goal: 100,000 rows in ≤ 60 s = 1667 rows/s"
        f"{' ok' if ROWS / elapsed >= 1667 else ' MISS'}); created {job['created']}, failed {job['failed']}"
    )
    print(
        f"customer read p99: idle {p99(idle):.1f} ms, during the import {p99(during):.1f} ms "
        f"({p99(during) / p99(idle):.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
