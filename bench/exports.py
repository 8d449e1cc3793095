"""Export benchmark (not part of `make test`): an export job of 1,000,000 customers
(SALESGRID_BENCH_EXPORT_ROWS) from a throwaway PostgreSQL, in each format
(SALESGRID_BENCH_EXPORT_FORMATS, default csv,xlsx), run by a fresh exporting process whose peak
RSS while it exports (sampled every 5 ms) is reported against a baseline measured in the same
run: the same process exporting 1,000 rows. Streaming holds memory flat: the peak may exceed the
baseline's by at most MAX_RATIO (printed as the goal, MISS when exceeded; the run fails only when
an export breaks or writes the wrong number of rows).

    .venv/bin/python bench/exports.py
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

N = int(os.environ.get("SALESGRID_BENCH_EXPORT_ROWS", "1000000"))
FORMATS = [f for f in os.environ.get("SALESGRID_BENCH_EXPORT_FORMATS", "csv,xlsx").split(",") if f]
BASELINE_ROWS = 1000
MAX_RATIO = 1.25  # peak RSS of the full export / peak RSS of the 1,000-row export
BIG, SMALL = ("rep-big", "/c/big/"), ("rep-small", "/c/small/")


async def seed(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    now = datetime.now(UTC)
    columns = [
        "id",
        "legal_name",
        "normalised_name",
        "tier",
        "tags",
        "owner_id",
        "org_path",
        "active",
        "version",
        "created_by",
        "created_at",
        "updated_at",
    ]
    try:
        for (owner, path), count in ((SMALL, BASELINE_ROWS), (BIG, N)):
            for start in range(0, count, 50000):
                records = [
                    (
                        f"{owner}-{i:08d}",
                        f"上海导出测试{i}有限公司 {owner}",
                        f"上海导出测试{i}有限公司{owner}",
                        "key" if i % 3 == 0 else "normal",
                        json.dumps(["export", "bench"]),
                        owner,
                        path,
                        True,
                        1,
                        owner,
                        now - timedelta(minutes=i % 100000),
                        now,
                    )
                    for i in range(start, min(count, start + 50000))
                ]
                await conn.copy_records_to_table("customers", records=records, columns=columns)
                print(f"  seeded {owner} {min(count, start + 50000)}/{count}", file=sys.stderr, end="\r")
        await conn.execute("VACUUM ANALYZE customers")
    finally:
        await conn.close()
    print(file=sys.stderr)


def current_rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


async def child(url: str, owner: str, file_format: str) -> None:
    """The exporting process: one job, then its figures as a JSON line on stdout."""
    from salesgrid_common.db import create_engine, session_factory
    from salesgrid_common.events.outbox import Outbox
    from salesgrid_common.exports.jobs import ExportJobs
    from salesgrid_customers.exports import EXPORTERS
    from salesgrid_dev.testing import principal

    engine = create_engine(url)
    sessions = session_factory(engine)
    jobs = ExportJobs("customers", sessions, sessions, Outbox("customers"), lambda: datetime.now(UTC), EXPORTERS)
    admin = principal("bench-admin", "/c/", permissions={"customers:read": "all", "customers:export": "all"})
    job = await jobs.create(admin, "customers", file_format, {"owner_id": owner})
    before = current_rss_kb()
    peak = before
    exporting = True

    def sample() -> None:
        nonlocal peak
        while exporting:
            peak = max(peak, current_rss_kb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    await jobs.run_next()
    seconds = time.perf_counter() - started
    exporting = False
    sampler.join()
    peak = max(peak, current_rss_kb())
    done = await jobs.get(admin, job.id)
    await engine.dispose()
    print(
        json.dumps(
            {
                "status": done.status,
                "rows": done.rows_written,
                "bytes": done.bytes_written,
                "chunks": done.chunks,
                "seconds": seconds,
                "rss_before_kb": before,
                "peak_rss_kb": peak,
            }
        )
    )


def export_in_a_new_process(url: str, owner: str, file_format: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", url, owner, file_format], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"exporting process failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["status"] != "ready":
        raise RuntimeError(f"export ended {figures['status']}")
    return figures  # type: ignore[no-any-return]


def main() -> int:
    from salesgrid_common.migrations import upgrade
    from salesgrid_customers.app import MIGRATIONS
    from salesgrid_dev.processes import ThrowawayPostgres

    cluster = ThrowawayPostgres().start()
    try:
        url = cluster.create_database("bench_exports")
        upgrade(MIGRATIONS, url)
        print(f"seeding {N} customers (+{BASELINE_ROWS} for the baseline) …", file=sys.stderr)
        started = time.perf_counter()
        asyncio.run(seed(url))
        print(f"seeded in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        rows = []
        for file_format in FORMATS:
            baseline = export_in_a_new_process(url, SMALL[0], file_format)
            full = export_in_a_new_process(url, BIG[0], file_format)
            assert baseline["rows"] == BASELINE_ROWS and full["rows"] == N, (baseline, full)
            rows.append((file_format, baseline, full))
    finally:
        cluster.stop()

    print(f"\nExport jobs on PostgreSQL: peak RSS of the exporting process, {N:,} rows against {BASELINE_ROWS:,}\n")
    print(
        f"{'format':<8}{'rows':>11}{'seconds':>9}{'rows/s':>9}{'file MB':>9}{'RSS start MB':>14}"
        f"{'peak RSS MB':>13}{'ratio':>7}{'goal':>7}"
    )
    for file_format, baseline, full in rows:
        for figures in (baseline, full):
            ratio = figures["peak_rss_kb"] / baseline["peak_rss_kb"]
            print(
                f"{file_format:<8}{figures['rows']:>11,}{figures['seconds']:>9.1f}"
                f"{figures['rows'] / figures['seconds']:>9,.0f}{figures['bytes'] / 1e6:>9.1f}"
                f"{figures['rss_before_kb'] / 1024:>14.1f}{figures['peak_rss_kb'] / 1024:>13.1f}{ratio:>7.2f}"
                f"{'' if figures is baseline else f'≤{MAX_RATIO}':>7}"
            )
        if full["peak_rss_kb"] > MAX_RATIO * baseline["peak_rss_kb"]:
            print(f"  {file_format}: MISS: the peak RSS grew with the rows: streaming does not hold")
    return 0  # a goal missed is reported above; only a broken run fails (README: make bench)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        asyncio.run(child(sys.argv[2], sys.argv[3], sys.argv[4]))
    else:
        sys.exit(main())
