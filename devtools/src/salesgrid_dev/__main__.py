"""`python -m salesgrid_dev run`: the whole platform locally with demo data (make run)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from salesgrid_dev.monitoring import prometheus_binary, prometheus_wanted, runner_flag
from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports, operator_settings, settings_for
from salesgrid_dev.processes import PortInUse, ensure_free, spawn_child
from salesgrid_dev.seed import DEMO_PASSWORD, seed_demo
from salesgrid_dev.seed_book import seed_book
from salesgrid_dev.spans import SpanReceiver


def main() -> int:
    parser = argparse.ArgumentParser(prog="salesgrid-dev")
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--data", default=os.environ.get("SALESGRID_DATA_DIR", ".run"))
    parser.add_argument("--port-base", type=int, default=int(os.environ.get("SALESGRID_PORT_BASE", "8080")))
    options = parser.parse_args()
    settings = operator_settings(env_file=Path(os.environ.get("SALESGRID_ENV_FILE", ".env")))
    runner = settings_for("runner", settings)
    wanted = prometheus_wanted(runner)
    data_dir = Path(options.data).resolve()
    spans = None
    try:
        # Spans of every process into <data>/logs/spans.jsonl (unless traces go elsewhere).
        if runner_flag(runner, "TRACES") and not settings.get("SALESGRID_OTLP_ENDPOINT"):
            ensure_free(options.port_base + 32, "span receiver")
            (data_dir / "logs").mkdir(parents=True, exist_ok=True)
            spans = SpanReceiver(data_dir / "logs" / "spans.jsonl", port=options.port_base + 32)
            spans.spawn = spawn_child
            spans.start()
            settings = {**settings, "SALESGRID_OTLP_ENDPOINT": spans.endpoint}
        platform = Platform(
            data_dir,
            Ports.from_base(options.port_base),
            settings=settings,
            with_prometheus=wanted and prometheus_binary() is not None,
        )
        platform.start()
    except PortInUse as exc:
        if spans is not None:
            spans.stop()
        print(f"salesgrid: {exc}", file=sys.stderr)
        return 2
    platform.supervise(on_event=lambda line: print(line, file=sys.stderr, flush=True))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        demo = seed_demo(platform.gateway_url)
        if demo.logins:  # a fresh data directory: give the demo organisation its book of business
            started = time.monotonic()
            print("seeding the demo book of business…", flush=True)
            book = seed_book(
                platform.gateway_url, {**{login: DEMO_PASSWORD for login in demo.logins}, ADMIN_LOGIN: ADMIN_PASSWORD}
            )
            print(
                f"  {book.customers} customers, {book.contacts} contacts, {sum(book.opportunities.values())} "
                f"opportunities {book.opportunities}, {book.follow_ups} follow-ups, {book.check_ins} check-ins, "
                f"{book.reports} daily reports, {book.contracts} contracts, {book.receipts} receipts, "
                f"{book.targets} targets, {book.tasks} tasks, {book.expense_claims} expense claims, "
                f"{book.announcements} announcements in {time.monotonic() - started:.0f} s",
                flush=True,
            )
        print(f"\nSalesgrid is running: {platform.gateway_url}  (API docs: {platform.gateway_url}/docs)")
        print(f"  web console: {platform.gateway_url}/console/")
        print(f"  admin login: {ADMIN_LOGIN} / {ADMIN_PASSWORD}")
        print(
            f"  demo people (password {DEMO_PASSWORD}): director, head1, head2, manager11, manager21, "
            f"sup111, rep1111, rep1112, rep2111 …" + (" (seeded now)" if demo.logins else "")
        )
        print(f"  data and logs: {platform.data_dir}   —  Ctrl-C stops everything")
        print(
            f"  supervisor: crashed processes restart with back-off; http://127.0.0.1:{platform.ports.runner}"
            f"/readyz and /metrics",
            flush=True,
        )
        if platform.prometheus is not None:
            print(
                f"  prometheus: {platform.prometheus.url}  (scrapes every process as the Helm chart's "
                f"ServiceMonitors do, with its alert rules; SALESGRID_RUNNER__PROMETHEUS=false to skip)",
                flush=True,
            )
        elif platform.prometheus_error:
            print(
                f"  prometheus: did not start ({platform.prometheus_error}); see {platform.data_dir / 'prometheus'}",
                flush=True,
            )
        elif wanted:
            print("  prometheus: not installed (Debian: apt-get install prometheus), so not started", flush=True)
        if spans is not None:
            print(
                f"  traces: every process's spans in {spans.path} (grep a trace id: a traceparent you send is "
                f"continued); SALESGRID_RUNNER__TRACES=false to skip",
                flush=True,
            )
        print(flush=True)
        # Scheduled online backups (SQLite backup API) while the platform runs, newest 7 kept.
        every = float(os.environ.get("SALESGRID_BACKUP_HOURS", "24")) * 3600
        while not stop.wait(every):
            try:
                platform.backup_all()
            except Exception as exc:
                print(f"salesgrid: backup failed: {exc}", file=sys.stderr, flush=True)
    finally:
        print("stopping…", flush=True)
        platform.stop()
        if spans is not None:
            spans.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
