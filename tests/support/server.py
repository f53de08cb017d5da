"""Start and stop a real `switchboard serve` process on a free port, by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"


# Ports come from below the kernel's ephemeral range (32768+), one block per
# pytest-xdist worker: a port the kernel hands out for `bind(0)` or an outgoing
# connection can never be one another worker is about to listen on. Within a
# worker a cursor walks the block, so a port just closed is not reused at once.
_WORKERS = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
PORT_BLOCK = 12000 // _WORKERS  # ports 20000-31999, shared out
_FIRST_PORT = 20000 + PORT_BLOCK * _WORKER
_next_port = _FIRST_PORT + (os.getpid() % PORT_BLOCK)


def free_port() -> int:
    global _next_port
    for _ in range(PORT_BLOCK):
        port = _next_port
        _next_port = _FIRST_PORT + (port + 1 - _FIRST_PORT) % PORT_BLOCK
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_FIRST_PORT}..{_FIRST_PORT + PORT_BLOCK}")


class ServerProcess:
    """One server process. `env` overrides SWITCHBOARD_* settings.

    `command` replaces `switchboard serve` (e.g. uvicorn serving an app that
    mounts Switchboard; it must listen on `port`), run in `cwd` (default: workdir).
    """

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        *,
        command: list[str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.env_overrides = dict(env or {})
        self.command = command
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        # Let servers cache bytecode: without it every start recompiles the whole app.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            {
                "SWITCHBOARD_ENV": "test",
                "SWITCHBOARD_DATA_DIR": str(self.workdir / "data"),
                "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'switchboard.db'}",
                "SWITCHBOARD_JWT_SECRET": "test-secret-" + "x" * 32,
                "SWITCHBOARD_API_KEY": "test-api-key",
                "SWITCHBOARD_LOG_LEVEL": "INFO",
                # Suites register hundreds of users from 127.0.0.1 and send bursts:
                # the abuse limits are off unless a test turns one on (tests/security).
                "SWITCHBOARD_AUTH_ADDRESS_LIMIT": "0",
                "SWITCHBOARD_LOGIN_ACCOUNT_LIMIT": "0",
                "SWITCHBOARD_USER_MESSAGE_RATE": "0",
                "PYTHONPATH": str(SRC),
            }
        )
        env.update(self.env_overrides)
        return env

    def start(self, timeout: float = 90.0) -> ServerProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.command
            or [
                sys.executable,
                "-m",
                "switchboard",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=self.cwd or self.workdir,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
