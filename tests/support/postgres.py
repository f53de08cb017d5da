"""A real PostgreSQL 15 on a free port, in a temp dir, started and stopped by PID.

PostgreSQL refuses to run as root, so `initdb` and `postgres` run as the
`postgres` user (through `runuser` when the tests run as root) in a directory
that user owns; the unix socket lives in that directory too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.server import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", USER, "--", *cmd]
    return cmd


class PostgresProcess:
    """`url` is the asyncpg SQLAlchemy URL of database `switchboard` (trust auth, local only)."""

    def __init__(self, port: int | None = None, *, durable: bool = False) -> None:
        """`durable`: fsync on (commits still do not wait for it); off for tests."""
        self.port = port or free_port()
        self.durable = durable
        self.root = Path(tempfile.mkdtemp(prefix="sb-pg-"))
        self.datadir = self.root / "data"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/switchboard"

    def _prepare(self) -> None:
        if not (PG_BIN / "postgres").exists():
            raise RuntimeError("PostgreSQL 15 is not installed: `make test` installs it")
        if os.geteuid() == 0:
            shutil.chown(self.root, USER, USER)
        self.root.chmod(0o700)
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    USER,
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 30.0) -> PostgresProcess:
        if not self.datadir.exists():
            self._prepare()
            fresh = True
        else:
            fresh = False
        self.proc = subprocess.Popen(
            _as_postgres(
                [
                    str(PG_BIN / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    *self._durability(),
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=(self.root / "postgres.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited:\n{self.log()}")
            if self._ready():
                break
            time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"postgres did not start:\n{self.log()}")
        if fresh:
            self.psql("CREATE DATABASE switchboard")
        return self

    def _durability(self) -> list[str]:
        if not self.durable:
            return ["-c", "fsync=off"]
        # What SQLite's WAL with synchronous=NORMAL gives: a commit survives the
        # app's crash at once and the machine's once the WAL is flushed.
        return ["-c", "synchronous_commit=off"]

    def backend_pids(self) -> list[int]:
        """The postmaster and every process it has forked so far."""
        pid = self.postmaster_pid()
        if pid is None:
            return []
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:  # a kernel without CONFIG_PROC_CHILDREN
            children = []
        return [pid, *(int(c) for c in children)]

    def _ready(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        result = subprocess.run(
            _as_postgres([str(PG_BIN / "pg_isready"), "-h", str(self.root), "-p", str(self.port)]),
            capture_output=True,
        )
        return result.returncode == 0

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            _as_postgres(
                [
                    "psql",
                    "-h",
                    str(self.root),
                    "-p",
                    str(self.port),
                    "-d",
                    database,
                    "-At",
                    "-c",
                    sql,
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def log(self) -> str:
        try:
            return (self.root / "postgres.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.datadir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, sig: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown: sessions are cut, nothing hangs.

        The signal goes to the postmaster itself (by the PID it wrote), since
        `runuser` does not forward it.
        """
        if self.proc is not None and self.proc.poll() is None:
            pid = self.postmaster_pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()
