"""The embedded runner supervises its children: one killed is restarted with back-off and the
restart is logged and reported (/readyz 503 while it is down, a restart counter in /metrics);
stopping the platform stops restarted children too and restarts nothing more."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from salesgrid_dev.platform import Platform, Ports
from salesgrid_dev.processes import child_command, spawn_child


def sleeper() -> subprocess.Popen[bytes]:
    return spawn_child([sys.executable, "-c", "import time; time.sleep(120)"])


def wait(check, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met")


def test_a_killed_child_is_restarted_reported_and_stopped_with_the_platform(tmp_path: Path) -> None:
    platform = Platform(tmp_path, Ports.free())
    spawned: list[subprocess.Popen[bytes]] = []

    def spawn_gateway() -> subprocess.Popen[bytes]:  # stands in for gunicorn: same supervision path
        process = sleeper()
        spawned.append(process)
        platform.processes["gateway"] = process
        return process

    platform._spawn_gateway = spawn_gateway  # type: ignore[method-assign]
    spawn_gateway()
    events: list[str] = []
    supervisor = platform.supervise(on_event=events.append)
    status = f"http://127.0.0.1:{platform.ports.runner}"
    try:
        assert httpx.get(f"{status}/readyz").status_code == 200
        os.kill(spawned[0].pid, signal.SIGKILL)
        spawned[0].wait(5)
        # Down: reported at once, restarted after the first back-off (1 s).
        wait(lambda: httpx.get(f"{status}/readyz").status_code == 503)
        wait(lambda: len(spawned) == 2, timeout=5)
        wait(lambda: httpx.get(f"{status}/readyz").status_code == 200)
        body = httpx.get(f"{status}/readyz").json()
        assert body["processes"]["gateway"] == {"up": True, "restarts": 1, "last_exit": -signal.SIGKILL}
        assert 'salesgrid_runner_restarts_total{process="gateway"} 1.0' in httpx.get(f"{status}/metrics").text
        assert any("gateway exited with code -9; restarting in 1s" in e for e in events)
        assert any("gateway restarted (restart #1" in e for e in events)
        # The second crash waits longer (2 s back-off).
        os.kill(spawned[1].pid, signal.SIGKILL)
        wait(lambda: any("restarting in 2s" in e for e in events))
    finally:
        platform.stop()
    stopped_with = len(spawned)
    assert all(process.poll() is not None for process in spawned)  # nothing outlives the runner
    time.sleep(2.5)  # past the pending back-off: no restart after stop
    assert len(spawned) == stopped_with and all(process.poll() is not None for process in spawned)
    assert supervisor.status()["gateway"]["up"] is False


def test_scheduled_backups_copy_every_service_database(tmp_path: Path) -> None:
    import sqlite3

    from salesgrid_dev.platform import SERVICES

    platform = Platform(tmp_path, Ports.free())
    (tmp_path / "db").mkdir()
    for service in SERVICES:
        with sqlite3.connect(tmp_path / "db" / f"{service}.db") as db:
            db.execute("CREATE TABLE t (v TEXT)")
            db.execute("INSERT INTO t VALUES (?)", (service,))
    for _ in range(9):
        made = platform.backup_all()
    assert len(made) == len(SERVICES)
    for service, path in zip(SERVICES, made):
        with sqlite3.connect(path) as copy:
            assert copy.execute("SELECT v FROM t").fetchall() == [(service,)]
        assert len(list((tmp_path / "backups").glob(f"{service}-*.db"))) == 7  # retention


def test_children_die_with_a_killed_runner() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import subprocess, sys, time\n"
                "from salesgrid_dev.processes import spawn_child\n"
                "child = spawn_child([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                "print(child.pid, flush=True)\n"
                "time.sleep(120)\n"
            ),
        ],
        stdout=subprocess.PIPE,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    parent.kill()  # kill -9: no chance to stop anything
    parent.wait(5)

    def gone() -> bool:
        try:
            state = Path(f"/proc/{child_pid}/status").read_text()
        except FileNotFoundError:
            return True
        return "\nState:\tZ" in state  # dead, waiting for init to reap it

    wait(gone, timeout=5)


def test_a_child_whose_runner_died_before_it_could_arm_the_signal_does_not_run() -> None:
    # The runner killed between the fork and setpriv's prctl: no signal will ever come, so the
    # child must notice by itself that its parent is no longer the process that started it.
    said = [sys.executable, "-c", "print('ran')"]
    orphaned = subprocess.run(child_command(said, parent=os.getpid() + 1_000_000), capture_output=True)
    assert (orphaned.returncode, orphaned.stdout) == (1, b"")
    ours = subprocess.run(child_command(said), capture_output=True)
    assert (ours.returncode, ours.stdout) == (0, b"ran\n")
