"""Where a request's CPU goes: CPU milliseconds per request in every process of the platform.

Starts the embedded platform (as `bench/gateway.py` does), then sends each kind of request N times
one after another and reads each process's user+system CPU time from /proc before and after
(children included: gunicorn workers; the nats-server has a column of its own). Unlike wall
time, CPU time is little affected by what else the machine runs, so this is the measure to
profile against before and after a change.
Asynchronous work a request causes (event fan-out to consumers) is counted once the platform is
idle again. Run: `.venv/bin/python bench/cpu_per_request.py [N] [label filter]`.

`SALESGRID_BENCH_DB=postgresql` runs the services on a throwaway PostgreSQL cluster (as
`bench/gateway.py` and `bench/imports.py` do); the table then has a `postgres` column: the
cluster's own CPU (postmaster and its backends), which the services' columns do not include."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from gateway import prepare, running_platform
from salesgrid_dev.api import gate_facts, money
from quiet import cpu_seconds, process_tree, settle, snapshot


def postgres_pid(platform) -> int | None:  # type: ignore[no-untyped-def]
    """The postmaster of the throwaway cluster the services use (found by its port), if any."""
    url = next((v for k, v in platform.settings.items() if k.endswith("__DATABASE_URL")), "")
    port = url.rsplit(":", 1)[-1].split("/", 1)[0] if url.startswith("postgresql") else ""
    for pid_file in [
        *Path(tempfile.gettempdir()).glob("salesgrid-pg-*/data/postmaster.pid"),
        *Path("/dev/shm").glob("salesgrid-pg-*/data/postmaster.pid"),
    ]:
        try:
            lines = pid_file.read_text().splitlines()
        except OSError:
            continue
        if port and len(lines) > 3 and lines[3].strip() == port:
            return int(lines[0])
    return None


def measure(platform, postmaster: int | None, found: dict[str, float] | None = None) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """CPU seconds so far per process of the platform (`found`, when just read), of its
    nats-server, and of PostgreSQL when it runs the services."""
    found = dict(found) if found is not None else snapshot(platform)
    found["nats"] = cpu_seconds(platform.nats.process.pid)
    if postmaster is not None:
        found["postgres"] = sum(cpu_seconds(p) for p in process_tree(postmaster))
    return found


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_platform(Path(scratch)) as platform,
        httpx.Client(base_url=platform.gateway_url, timeout=30) as api,
    ):
        data = prepare(api)
        rep = {"Authorization": f"Bearer {data['rep']}"}
        manager = {"Authorization": f"Bearer {data['manager']}"}
        follow_up = {
            "kind": "call",
            "occurred_at": "2026-12-01T08:00:00Z",
            "notes": "cpu probe",
            "customer_id": data["customer"],
        }
        kinds = {
            "GET /healthz": lambda: api.get("/healthz"),
            "GET /readyz (one trivial gRPC call)": lambda: api.get("/readyz"),
            "GET /v1/me": lambda: api.get("/v1/me", headers=rep),
            "GET /v1/customers/{id}": lambda: api.get(f"/v1/customers/{data['customer']}", headers=rep),
            "GET /v1/customers?limit=20 (manager)": lambda: api.get("/v1/customers?limit=20", headers=manager),
            "POST /v1/follow-ups": lambda: api.post("/v1/follow-ups", headers=rep, json=follow_up),
            "POST /v1/customers": None,
        }
        serial = iter(range(10**9))
        kinds["POST /v1/customers"] = lambda: api.post(
            "/v1/customers", headers=rep, json={"legal_name": f"CPU探针客户{next(serial):06d}有限公司"}
        )
        admin = {"Authorization": f"Bearer {data['admin']}"}
        # The admin imports as the owner: no per-rep cap on customers held at the root.
        api.put(
            f"/v1/pool-policies/{data['root']}",
            headers=admin,
            json={"reclaim_cooldown_days": 0, "warning_days_before": 0},
        ).raise_for_status()
        imported = iter(range(10**9))

        def import_rows() -> httpx.Response:
            """One row of a CSV import (count rows per file; the job is polled to its end)."""
            rows = [f"CPU探针导入{next(imported):07d}号有限公司,normal" for _ in range(count)]
            body = ("legal_name,tier\n" + "\n".join(rows) + "\n").encode()
            reply = api.post("/v1/customers/imports", headers={**admin, "Content-Type": "text/csv"}, content=body)
            while (
                reply.status_code < 400 and api.get(reply.headers["Location"], headers=admin).json()["status"] != "done"
            ):
                time.sleep(0.2)
            return reply

        kinds["import, per row"] = import_rows
        # Opportunities as the CRM workload makes them: one per customer, then two gated stage changes.
        targets: list[str] = []
        made: list[tuple[str, int]] = []
        gates = [facts for _stage, facts in gate_facts()[:2]]

        def create_opportunity() -> httpx.Response:
            reply = api.post(
                "/v1/opportunities",
                headers=rep,
                json={
                    "customer_id": targets[len(made)],
                    "name": f"CPU probe deal {len(made)}",
                    "amount": money("100000"),
                    "expected_close_date": "2027-06-30",
                },
            )
            if reply.status_code < 400:
                made.append((reply.json()["id"], reply.json()["version"]))
            return reply

        moves = iter(range(10**9))

        def advance() -> httpx.Response:
            n = next(moves)
            ident, version = made[n // 2]
            reply = api.post(
                f"/v1/opportunities/{ident}/advance",
                headers={**rep, "If-Match": f'"{version}"'},
                json={"facts": gates[n % 2]},
            )
            if reply.status_code < 400:
                made[n // 2] = (ident, reply.json()["version"])
            return reply

        kinds["POST /v1/opportunities"] = create_opportunity
        kinds["POST /v1/opportunities/{id}/advance"] = advance
        postmaster = postgres_pid(platform)
        names = [*platform.processes, "nats"] + (["postgres"] if postmaster is not None else [])
        # Background CPU (pollers, reloads) is subtracted at each process's idle rate.
        time.sleep(10)  # the set-up's events are applied
        start, started = measure(platform, postmaster), time.monotonic()
        time.sleep(5)
        idle = {n: (v - start[n]) / (time.monotonic() - started) for n, v in measure(platform, postmaster).items()}
        print(f"CPU ms per request, {count} sequential requests each (fan-out included)")
        print(f"{'request':40s}" + "".join(f"{n[:10]:>11s}" for n in names) + f"{'total':>9s}")
        print(f"{'(idle, CPU ms per second)':40s}" + "".join(f"{idle[n] * 1000:11.2f}" for n in names), flush=True)
        only = sys.argv[2] if len(sys.argv) > 2 else ""  # e.g. "manager": only the kinds whose label has it
        for label, send in kinds.items():
            if only not in label:
                continue
            if label == "POST /v1/opportunities":  # one customer each, made before the measurement
                targets.extend(kinds["POST /v1/customers"]().json()["id"] for _ in range(count))
            if label.endswith("/advance") and len(made) < count // 2:  # two stage changes per opportunity
                continue
            before, began = measure(platform, postmaster, settle(platform, idle)), time.monotonic()
            for _ in range(1 if label == "import, per row" else count):
                reply = send()
                if reply.status_code >= 400:
                    raise SystemExit(f"{label}: {reply.status_code} {reply.text[:200]}")
            after, elapsed = measure(platform, postmaster, settle(platform, idle)), time.monotonic() - began
            per = {n: max(0.0, after[n] - before[n] - idle[n] * elapsed) * 1000 / count for n in names}
            print(f"{label:40s}" + "".join(f"{per[n]:11.2f}" for n in names) + f"{sum(per.values()):9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
