"""A real nginx running deploy/nginx.conf in a temp prefix, started and stopped by PID."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.server import REPO, free_port

CONF = REPO / "deploy" / "nginx.conf"


def render(conf: str, listen_port: int, node_ports: list[int]) -> str:
    """deploy/nginx.conf with this run's listen port and upstream nodes."""
    servers = "".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in node_ports
    )
    conf = re.sub(r"(?m)^\s*server 127\.0\.0\.1:\d+ [^\n]*\n", "", conf)
    conf = conf.replace(
        "hash $remote_addr consistent;\n", "hash $remote_addr consistent;\n" + servers
    )
    return re.sub(r"listen 127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{listen_port};", conf)


class NginxProcess:
    def __init__(self, workdir: Path, node_ports: list[int], port: int | None = None) -> None:
        self.workdir = workdir
        self.node_ports = node_ports
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> NginxProcess:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        for sub in ("logs", "temp"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
            # Workers run unprivileged when the master is root: let them write temp files.
            (self.workdir / sub).chmod(0o777)
        conf = self.workdir / "nginx.conf"
        conf.write_text(render(CONF.read_text(), self.port, self.node_ports))
        self.proc = subprocess.Popen(
            [binary, "-p", str(self.workdir), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "logs" / "stderr.log").open("ab"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + self.error_log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start: " + self.error_log())

    def error_log(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.workdir / "logs" / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish open requests
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
