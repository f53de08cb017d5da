"""The servers under test: started on 127.0.0.1 pinned to one core, stopped by PID.

Each server kind gets a template data directory once (users registered, no
conversations); every round starts from a fresh copy of it, so rounds do not
inherit rooms, messages or notifications from earlier ones.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.support.postgres import PostgresProcess

REPO = Path(__file__).resolve().parents[1]
JWT_SECRET = "bench-secret-" + "b" * 40
API_KEY = "bench-api-key"
DB_NAME = "bench.db"


@dataclass(frozen=True)
class ServerKind:
    """How to run one implementation of the contract (docs/contract.md)."""

    name: str
    argv: tuple[str, ...]
    cwd: Path
    db_scheme: str  # SWITCHBOARD_DATABASE_URL scheme for an SQLite file
    # Run beside a redis-server of its own (SWITCHBOARD_REDIS_URL): the cluster path on one node.
    redis: bool = False
    # On a PostgreSQL server of its own instead of the SQLite file, on the same core.
    postgres: bool = False


def _switchboard(name: str, *, redis: bool = False, postgres: bool = False) -> ServerKind:
    """`switchboard serve` from this checkout's venv, with the given backends."""
    argv = (str(REPO / ".venv/bin/python"), "-m", "switchboard", "serve")
    return ServerKind(name, argv, REPO, "sqlite+aiosqlite", redis=redis, postgres=postgres)


def kinds(node_dir: Path, py_dir: Path) -> dict[str, ServerKind]:
    """The servers, keyed by the name the command line and results use."""
    return {
        "switchboard": _switchboard("switchboard"),
        # The same node with the cluster path on: every broadcast goes through a Redis
        # Stream, presence and limits live in Redis. The redis-server shares the
        # server's core, so the figure includes Redis's own CPU.
        "switchboard-redis": _switchboard("switchboard-redis", redis=True),
        # The same node on PostgreSQL 15 (asyncpg): a fresh server per run, started with
        # synchronous_commit=off (SQLite's WAL with synchronous=NORMAL is the like of it)
        # and pinned to the server's core, so the figure includes PostgreSQL's CPU.
        "switchboard-pg": _switchboard("switchboard-pg", postgres=True),
        "node-ref": ServerKind(
            "node-ref", ("node", str(node_dir / "server.js")), node_dir, "sqlite"
        ),
        "py-ref": ServerKind(
            "py-ref",
            (str(py_dir / ".venv/bin/python"), str(py_dir / "server.py")),
            py_dir,
            "sqlite",
        ),
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RunningServer:
    """One server process started with `taskset -c <core>`, stopped by its PID."""

    def __init__(self, kind: ServerKind, data_dir: Path, core: int) -> None:
        self.kind = kind
        self.data_dir = data_dir
        self.core = core
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.redis: subprocess.Popen[bytes] | None = None
        self.redis_port = free_port() if kind.redis else None
        self.postgres: PostgresProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update(
            {
                "SWITCHBOARD_JWT_SECRET": JWT_SECRET,
                "SWITCHBOARD_API_KEY": API_KEY,
                "SWITCHBOARD_RATE_LIMIT": "0",
                # The generator registers every user from one address and sends at full speed.
                "SWITCHBOARD_AUTH_ADDRESS_LIMIT": "0",
                "SWITCHBOARD_USER_MESSAGE_RATE": "0",
                "SWITCHBOARD_DATABASE_URL": f"{self.kind.db_scheme}:///{self.data_dir / DB_NAME}",
                "SWITCHBOARD_DATA_DIR": str(self.data_dir / "data"),
                # The peers log no access lines; ours would log one line per HTTP request.
                "SWITCHBOARD_LOG_LEVEL": "WARNING",
            }
        )
        if self.redis_port is not None:
            env["SWITCHBOARD_REDIS_URL"] = f"redis://127.0.0.1:{self.redis_port}/0"
        if self.postgres is not None:
            env["SWITCHBOARD_DATABASE_URL"] = self.postgres.url
        return env

    def start(self, timeout: float = 120.0) -> RunningServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.redis_port is not None:
            self._start_redis(self.redis_port)
        if self.kind.postgres:
            self._start_postgres()
        argv = ["taskset", "-c", str(self.core), *self.kind.argv]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        with (self.data_dir / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.kind.cwd,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.kind.name} exited with {self.proc.returncode}: {self.log()}"
                )
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.kind.name} not healthy within {timeout}s: {self.log()}")

    def _start_redis(self, port: int) -> None:
        self.redis = subprocess.Popen(
            [
                *("taskset", "-c", str(self.core), "redis-server"),
                *("--bind", "127.0.0.1", "--port", str(port)),
                *("--save", "", "--appendonly", "no", "--dir", str(self.data_dir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def _start_postgres(self) -> None:
        from tests.support.postgres import PostgresProcess  # the suite's own runner

        self.postgres = PostgresProcess(durable=True).start()
        # Backends forked later inherit the postmaster's core.
        for pid in self.postgres.backend_pids():
            os.sched_setaffinity(pid, {self.core})

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        """VmRSS of the server process (taskset execs, so the PID is the server's)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far."""
        return cpu_seconds(self.pid)

    def log(self) -> str:
        try:
            return (self.data_dir / "server.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM by PID, SIGKILL if it lingers (ours drains for a few seconds)."""
        for proc in (self.proc, self.redis):
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
        if self.postgres is not None:
            self.postgres.cleanup()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_template(template: Path, target: Path) -> None:
    """A fresh data directory holding the template's database (and its WAL files, if any)."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in template.iterdir():
        if entry.name.startswith(DB_NAME):
            shutil.copy2(entry, target / entry.name)
    if (template / "data").is_dir():
        shutil.copytree(template / "data", target / "data", dirs_exist_ok=True)
