"""`uvicorn --ws switchboard.transport.fastws:WebSocketProtocol` finds the app's transport,
with or without `--http switchboard.transport.front:HttpProtocol` in front.

The fast path answers a bad Engine.IO upgrade with its own HTTP 400 (and a JSON
body), where the portable ASGI path would close the WebSocket (uvicorn: 403):
that tells which path served the request. A WebSocket of the host app that is
not under /socket.io/ is handed to uvicorn's own protocol and still works.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.support.server import REPO, free_port

_FRONT = ["--http", "switchboard.transport.front:HttpProtocol"]


@pytest.fixture(params=[[], _FRONT], ids=["ws", "http-and-ws"])
def uvicorn_server(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
        "SWITCHBOARD_ENV": "test",
        "SWITCHBOARD_JWT_SECRET": "s" * 40,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sb.db'}",
        "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": f"{REPO / 'src'}:{REPO}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.transport.host_app:app",
            "--ws",
            "switchboard.transport.fastws:WebSocketProtocol",
            *request.param,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("uvicorn did not start")
    yield url
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


async def test_import_path_protocol_serves_socketio_upgrades_itself(uvicorn_server: str) -> None:
    ws_url = uvicorn_server.replace("http", "ws")
    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url + "/socket.io/?EIO=3&transport=websocket")
    assert refused.value.response.status_code == 400
    assert b'"code":3' in refused.value.response.body
    async with websockets.connect(ws_url + "/socket.io/?EIO=4&transport=websocket") as ws:
        opened = str(await ws.recv())
        assert opened.startswith('0{"sid":')


async def test_the_host_apps_own_websocket_still_works(uvicorn_server: str) -> None:
    ws_url = uvicorn_server.replace("http", "ws")
    async with websockets.connect(ws_url + "/echo") as ws:
        await ws.send("hello")
        assert await ws.recv() == "echo: hello"
