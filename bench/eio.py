"""A minimal Engine.IO v4 / Socket.IO v5 client over `websockets`, for load generation.

python-socketio's client costs far more CPU per frame than the servers under
test spend, so the generator would measure itself. This one speaks only what
the bench needs: websocket transport, text packets, CONNECT to namespaces with
the handshake's cookie, EVENT out with an ack id, and a callback for each
packet in. It answers Engine.IO pings so that long runs stay connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# (connection, raw packet text) for each Socket.IO packet that is not ours to handle.
PacketHandler = Callable[["SioConn", str], None]


class ConnectRefused(Exception):
    """The server refused a namespace CONNECT (Socket.IO connect_error)."""


class SioConn:
    """One websocket carrying several Socket.IO namespaces."""

    def __init__(self, ws: ClientConnection, on_packet: PacketHandler | None) -> None:
        self.ws = ws
        self.on_packet = on_packet
        self.connected: dict[str, asyncio.Future[None]] = {}
        self.acks_ok = 0
        self.acks_err = 0
        self._ack_id = 0
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls,
        port: int,
        token: str,
        namespaces: tuple[str, ...],
        on_packet: PacketHandler | None = None,
        timeout: float = 30.0,
    ) -> SioConn:
        """Handshake on the websocket transport and connect every namespace with cookie auth."""
        ws = await asyncio.wait_for(
            connect(
                f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket",
                additional_headers={"Cookie": f"auth_token={token}"},
                compression=None,
                ping_interval=None,
                max_size=None,
                open_timeout=timeout,
            ),
            timeout,
        )
        try:
            opening = await asyncio.wait_for(ws.recv(), timeout)
            if not isinstance(opening, str) or not opening.startswith("0"):
                raise ConnectRefused(f"unexpected Engine.IO open packet {opening!r:.80}")
            conn = cls(ws, on_packet)
        except BaseException:
            await ws.close()
            raise
        loop = asyncio.get_running_loop()
        for ns in namespaces:
            conn.connected[ns] = loop.create_future()
            await ws.send(f"40{ns},")
        try:
            await asyncio.wait_for(asyncio.gather(*conn.connected.values()), timeout)
        except BaseException:
            await conn.close()
            raise
        return conn

    def next_ack_id(self) -> int:
        self._ack_id += 1
        return self._ack_id

    async def emit(self, namespace: str, event: str, data: Any, ack: bool = True) -> None:
        """Send an EVENT; its ack only bumps `acks_ok` / `acks_err`."""
        payload = json.dumps([event, data], separators=(",", ":"))
        ack_id = str(self.next_ack_id()) if ack else ""
        await self.ws.send(f"42{namespace},{ack_id}{payload}")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 5)

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if not isinstance(frame, str):
                    continue
                if frame == "2":
                    await self.ws.send("3")
                elif frame.startswith("4"):
                    self._packet(frame)
        except ConnectionClosed:
            pass
        finally:
            for fut in self.connected.values():
                if not fut.done():
                    fut.set_exception(ConnectRefused("connection closed"))

    def _packet(self, frame: str) -> None:
        kind = frame[1:2]
        if kind == "0" or kind == "4":
            ns_end = frame.find(",")
            ns = frame[2:ns_end] if frame[2:3] == "/" and ns_end > 0 else "/"
            fut = self.connected.get(ns)
            if fut is not None and not fut.done():
                if kind == "0":
                    fut.set_result(None)
                else:
                    fut.set_exception(ConnectRefused(frame[:200]))
            return
        if kind == "3":
            # Only the bench's acks: a failed one carries "ok":false.
            if '"ok":false' in frame or '"ok": false' in frame:
                self.acks_err += 1
            else:
                self.acks_ok += 1
            return
        if self.on_packet is not None:
            self.on_packet(self, frame)
