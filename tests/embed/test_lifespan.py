"""One lifespan for host and Switchboard, under a real uvicorn.

Would fail if a host's startup failure were swallowed (the server must not
come up, and must say why), or if Switchboard stopped before the host's own
shutdown ran.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import REPO, ServerProcess, free_port


def _uvicorn(app: str, port: int) -> list[str]:
    return [
        *(sys.executable, "-m", "uvicorn", app, "--app-dir", str(REPO)),
        *("--host", "127.0.0.1", "--port", str(port)),
    ]


@pytest.mark.parametrize("host", ["failing", "raw_failing"])
def test_a_host_startup_failure_stops_the_server_with_the_hosts_message(
    tmp_path: Path, host: str
) -> None:
    # `failing` is Starlette (it sends lifespan.startup.failed, then raises);
    # `raw_failing` raises after taking the startup message, saying nothing.
    port = free_port()
    server = ServerProcess(tmp_path, port=port, command=_uvicorn(f"tests.embed.hosts:{host}", port))
    with pytest.raises(RuntimeError, match="server exited") as failed:
        server.start(timeout=60)
    assert "the shop has no database" in str(failed.value)
    assert server.stop() not in (None, 0)  # it had exited, with an error status


def test_switchboard_outlives_the_hosts_shutdown(tmp_path: Path) -> None:
    report = tmp_path / "shutdown.txt"
    port = free_port()
    server = ServerProcess(
        tmp_path,
        env={"HOST_SHUTDOWN_REPORT": str(report)},
        port=port,
        command=_uvicorn("tests.embed.hosts:probe", port),
    )
    server.start()
    try:
        assert httpx.get(server.url + "/").text == "hello"
    finally:
        server.stop()
    assert "Application shutdown complete." in server.log()
    assert report.read_text() == "switchboard running: True"
