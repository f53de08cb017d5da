"""The front HTTP protocol: a connection opening with our upgrade skips uvicorn's HTTP parser.

A real uvicorn serves the app with `fast_http_protocol` in front of uvicorn's
httptools protocol, here a subclass that counts the connections it was given:
that count tells which path served each connection. Everything else uvicorn
serves as before, including an upgrade after a plain request on one
connection and the host application's own WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
from fastapi import WebSocket
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchboard.app import SwitchboardApp, create_app
from switchboard.config import Settings
from switchboard.transport import fast_http_protocol, fast_websocket_protocol
from tests.support.server import free_port


class CountingHttp(HttpToolsProtocol):
    made: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


def _app(tmp_path: Path) -> SwitchboardApp:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        data_dir=tmp_path,
        jwt_secret="t" * 40,
    )
    app = create_app(settings)

    @app.http.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("echo: " + await websocket.receive_text())
        await websocket.close()

    return app


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, *, import_strings: bool = False) -> AsyncIterator[int]:
    """`import_strings`: the classes as `uvicorn --http … --ws …` names them, not built here."""
    app = _app(tmp_path)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        loop="uvloop",
        ws=(
            "switchboard.transport.fastws:WebSocketProtocol"
            if import_strings
            else fast_websocket_protocol(app.realtime_endpoint)
        ),
        http=(
            "switchboard.transport.front:HttpProtocol"
            if import_strings
            else fast_http_protocol(app.realtime_endpoint, CountingHttp)
        ),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    CountingHttp.made = 0
    try:
        yield port
    finally:
        server.should_exit = True
        await task


def _upgrade(path: str = "/socket.io/?EIO=4&transport=websocket") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


async def test_an_upgrade_opening_a_connection_is_served_without_uvicorns_http_protocol(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = _upgrade()
        for i in range(0, 12):  # the head arrives in pieces: the first ones byte by byte
            writer.write(request[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(request[12:])
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 101 ")
        opening = await asyncio.wait_for(reader.read(4096), 5)
        assert b'0{"sid":' in opening  # the Engine.IO OPEN packet in its first frame
        writer.close()
        assert CountingHttp.made == 0


async def test_the_command_line_class_finds_the_app_and_uvicorns_own_protocol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uvicorn --http switchboard.transport.front:HttpProtocol`: built without the app,
    it serves our upgrades itself and hands the rest to uvicorn's httptools protocol."""
    monkeypatch.setattr(httptools_impl, "HttpToolsProtocol", CountingHttp)
    async with serving(tmp_path, import_strings=True) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_upgrade())
        assert (await _read_head(reader)).startswith(b"HTTP/1.1 101 ")
        assert b'0{"sid":' in await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        assert CountingHttp.made == 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
        assert CountingHttp.made == 1


async def test_plain_requests_and_polling_go_to_uvicorn(tmp_path: Path) -> None:
    async with serving(tmp_path) as port:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/healthz")).status_code == 200
            polling = await client.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert polling.status_code == 200
        assert polling.text.startswith('0{"sid":')
        assert CountingHttp.made >= 1


async def test_an_upgrade_after_a_plain_request_on_one_connection_still_reaches_the_fast_path(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 200 ")
        length = next(
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(_upgrade())
        assert (await _read_head(reader)).startswith(b"HTTP/1.1 101 ")
        assert b'0{"sid":' in await asyncio.wait_for(reader.read(4096), 5)
        writer.close()
        assert CountingHttp.made == 1


async def test_the_host_apps_websocket_opening_a_connection_goes_to_uvicorn(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(_upgrade("/echo"))
        assert (await _read_head(reader)).startswith(b"HTTP/1.1 101 ")
        writer.write(b"\x81\x84abcd" + bytes(c ^ k for c, k in zip(b"hi!!", b"abcd", strict=True)))
        reply = await asyncio.wait_for(reader.read(4096), 5)
        assert b"echo: hi!!" in reply
        writer.close()
        assert CountingHttp.made == 1


@pytest.mark.parametrize("end", [b"", b"\r\n\r\n"])
async def test_an_endless_head_under_the_path_is_refused(tmp_path: Path, end: bytes) -> None:
    async with serving(tmp_path) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n")
        writer.write(b"X-Filler: " + b"a" * 70_000 + end)
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 400 ")
        writer.close()
        assert CountingHttp.made == 0


async def test_shutdown_ends_a_connection_that_has_not_finished_its_first_request(
    tmp_path: Path,
) -> None:
    """uvicorn waits for every connection it tracks: the front's must end when told to."""
    async with contextlib.AsyncExitStack() as stack:
        port = await stack.enter_async_context(serving(tmp_path))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        await asyncio.sleep(0.1)  # the front now holds a partial head
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(stack.aclose(), 10)  # server.should_exit, then its task
        assert asyncio.get_running_loop().time() - started < 5
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing answered
        writer.close()
