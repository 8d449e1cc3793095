"""CPU time of the platform's processes from /proc, and waiting until the platform is quiet (its
asynchronous work -- the event fan-out of the last measurement -- done) before the next one."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def process_tree(pid: int) -> list[int]:
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [p for c in children for p in process_tree(int(c))]


def snapshot(platform) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """CPU seconds used so far by each process of the platform (children included)."""
    return {
        name: sum(cpu_seconds(p) for p in process_tree(process.pid)) for name, process in platform.processes.items()
    }


def settle(  # type: ignore[no-untyped-def]
    platform,
    idle: dict[str, float] | None = None,
    quiet_for: float = 1.5,
    *,
    busy_share: float = 0.0,
    give_up_after: float = 120.0,
) -> dict[str, float]:
    """Wait until the platform burns no more than its idle rate (`idle`: CPU seconds per second per
    process, measured beforehand) or, without one, no more than `busy_share` of one core, over
    `quiet_for` seconds; give up waiting after `give_up_after` seconds."""
    allowance = (1.5 * sum((idle or {}).values()) + busy_share) * quiet_for + 0.02
    previous, deadline = snapshot(platform), time.monotonic() + give_up_after
    while True:
        time.sleep(quiet_for)
        now = snapshot(platform)
        if sum(now.values()) - sum(previous.values()) <= allowance or time.monotonic() > deadline:
            return now
        previous = now
