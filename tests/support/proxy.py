"""A TCP proxy on 127.0.0.1 that can fail like a dead network: the client side drops, the
server side stays open and silent (no FIN, no data), as when a phone loses its radio."""

from __future__ import annotations

import asyncio
import contextlib

from tests.support.server import free_port


class HalfOpenProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.cut_done = False
        self.server_side_closed = asyncio.Event()  # the server ended a connection we hold

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HalfOpenProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        for client, upstream in self._pairs:
            client.close()
            upstream.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._pairs.append((writer, up_writer))
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer, upstream=False)),
            asyncio.create_task(self._pipe(up_reader, writer, upstream=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        while True:
            if self.cut_done and upstream:
                # After the cut the server's bytes are not read: its side stays open
                # and silent; only its own close (EOF) is noticed.
                await self._watch_server_close(reader)
                return
            data = await reader.read(65536)
            if not data:
                if upstream:
                    self.server_side_closed.set()
                return
            if self.cut_done:
                continue  # the dead network loses whatever the client still sends
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()

    async def _watch_server_close(self, reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass  # what the server sends into the dead network is lost
        self.server_side_closed.set()

    def cut(self) -> None:
        """The client side drops (its TCP connection is reset); the server side hears nothing."""
        self.cut_done = True
        for client, _upstream in self._pairs:
            client.transport.abort()
