"""Keep-alive HTTP/1.1 POSTs on raw asyncio protocols, for load generators.

httpx spends several hundred µs of the generator's CPU per request, more than
the server under test spends on a small internal-API call, so a generator
built on it measures itself. This pool writes a prepared request per POST and
reads only the status line, `Content-Length` and the body; it handles exactly
what our server answers (no chunked bodies, no redirects). A response with
`Connection: close` (the server's answer to a request whose body it refused
to read) retires its connection and opens a fresh one in its place.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class HttpError(Exception):
    """A response with an unexpected status, or a connection that broke."""


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closing = False  # the last response said `Connection: close`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buf += data
        head_end = self._buf.find(b"\r\n\r\n")
        if head_end < 0 or self._waiter is None:
            return
        head = bytes(self._buf[:head_end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                self.closing = True
        end = head_end + 4 + length
        if len(self._buf) < end:
            return
        status = int(head[0].split(" ", 2)[1])
        body = bytes(self._buf[head_end + 4 : end])
        del self._buf[:end]
        waiter, self._waiter = self._waiter, None
        if not waiter.done():
            waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError(f"connection lost: {exc}"))

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self._waiter


class HttpPool:
    """`connections` keep-alive connections; each carries one request at a time."""

    def __init__(self, port: int, connections: int) -> None:
        self.port = port
        self.size = connections
        self._idle: asyncio.Queue[_Conn] = asyncio.Queue()
        self._all: list[_Conn] = []

    async def open(self) -> HttpPool:
        for _ in range(self.size):
            self._idle.put_nowait(await self._connect())
        return self

    async def _connect(self) -> _Conn:
        _, conn = await asyncio.get_running_loop().create_connection(_Conn, "127.0.0.1", self.port)
        self._all.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()

    def prepare(self, path: str, payload: Any, headers: dict[str, str]) -> bytes:
        body = json.dumps(payload, separators=(",", ":")).encode()
        lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        return "\r\n".join(lines).encode() + body

    async def post(self, raw: bytes) -> tuple[int, bytes]:
        """Send a `prepare`d request on an idle connection; its status and body."""
        conn = await self._idle.get()
        try:
            return await conn.request(raw)
        finally:
            if conn.closing:
                self._all.remove(conn)
                conn = await self._connect()
            with contextlib.suppress(asyncio.QueueFull):
                self._idle.put_nowait(conn)
