"""`make bench`: start the embedded platform and measure, in one run, an authenticated
GET /v1/me through the gateway against a bare Flask app served the same way (gunicorn, same
worker count) with wrk on loopback. The ratio between the two is the figure we track."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from salesgrid_dev.platform import ADMIN_LOGIN, ADMIN_PASSWORD, Platform, Ports
from salesgrid_dev.processes import free_port, wait_for_port

DURATION = "10s"
CONNECTIONS = "16"
THREADS = "2"
BARE_APP = '''
from flask import Flask, jsonify
app = Flask(__name__)
@app.get("/v1/me")
def me():
    return jsonify(id="bare", login="bare")
'''


def wrk(url: str, token: str) -> dict[str, float]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`)")
    out = subprocess.run(["wrk", "-t", THREADS, "-c", CONNECTIONS, "-d", DURATION, "--latency",
                          "-H", f"Authorization: Bearer {token}", url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed responses during the run")
    return {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99")}


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        platform = Platform(Path(scratch) / "platform", Ports.free(), gateway_workers=2).start()
        bare_port = free_port()
        (Path(scratch) / "bare_app.py").write_text(BARE_APP)
        bare = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{bare_port}", "--workers",
                                 "2", "--threads", "4", "bare_app:app"], cwd=scratch,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(bare_port, 30, bare, "bare flask")
            token = httpx.post(f"{platform.gateway_url}/v1/auth/login",
                               json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}).json()["access_token"]
            time.sleep(1)
            baseline = wrk(f"http://127.0.0.1:{bare_port}/v1/me", token)
            gateway = wrk(f"{platform.gateway_url}/v1/me", token)
        finally:
            bare.terminate()
            platform.stop()
    print(f"{'scenario':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in (("bare Flask (baseline)", baseline), ("gateway GET /v1/me (JWT → gRPC)", gateway)):
        print(f"{name:<34}{result['rps']:>10.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}")
    print(f"\nratio gateway/baseline: throughput {gateway['rps'] / baseline['rps']:.2f}x, "
          f"p50 latency {gateway['p50_ms'] / baseline['p50_ms']:.2f}x, p99 latency {gateway['p99_ms'] / baseline['p99_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
