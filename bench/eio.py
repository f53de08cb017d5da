"""A minimal Engine.IO v4 / Socket.IO v5 client on websockets' sans-I/O layer, for load generators.

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

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

# (connection, raw packet text) for each Socket.IO packet that is not ours to handle.
PacketHandler = Callable[["SioConn", str], None]


class ConnectRefused(Exception):
    """The server refused the handshake or a namespace CONNECT (Socket.IO connect_error)."""


class SioConn(asyncio.Protocol):
    """One websocket carrying several Socket.IO namespaces.

    websockets' sans-I/O protocol under a plain asyncio.Protocol: frames are
    handled in `data_received` with no task or queue per frame, which keeps
    the generator's CPU per delivery well below the servers'.
    """

    def __init__(self, ws: ClientProtocol, on_packet: PacketHandler | None) -> None:
        self.ws = ws
        self.on_packet = on_packet
        self.connected: dict[str, asyncio.Future[None]] = {}
        self.acks_ok = 0
        self.acks_err = 0
        self._ack_id = 0
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._handshake: asyncio.Future[None] = loop.create_future()
        self._opened: asyncio.Future[None] = loop.create_future()
        self._closed: asyncio.Future[None] = loop.create_future()
        self._partial: list[bytes] = []

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
        ws = ClientProtocol(
            parse_uri(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"),
            max_size=None,
        )
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(lambda: cls(ws, on_packet), "127.0.0.1", port), timeout
        )
        try:
            request = ws.connect()
            request.headers["Cookie"] = f"auth_token={token}"
            ws.send_request(request)
            conn._flush()
            await asyncio.wait_for(asyncio.shield(conn._handshake), timeout)
            await asyncio.wait_for(asyncio.shield(conn._opened), timeout)
            for ns in namespaces:
                conn.connected[ns] = loop.create_future()
                conn._send(f"40{ns},")
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
        self._send(f"42{namespace},{ack_id}{payload}")

    async def close(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        with contextlib.suppress(Exception):
            self.ws.send_close()
            self._flush()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(self._closed), 2)
        self._transport.close()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.ws.handshake_exc is not None:
                    self._fail(ConnectRefused(f"handshake: {self.ws.handshake_exc}"))
                elif not self._handshake.done():
                    self._handshake.set_result(None)
            elif isinstance(event, Frame):
                self._frame(event)
        self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectRefused("connection closed"))
        if not self._closed.done():
            self._closed.set_result(None)

    # internals

    def _send(self, text: str) -> None:
        if self.ws.state is not State.OPEN:
            # Closing: a late ping from the server needs no pong.
            return
        self.ws.send_text(text.encode())
        self._flush()

    def _flush(self) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        for chunk in self.ws.data_to_send():
            if chunk:
                self._transport.write(chunk)
            else:
                self._transport.write_eof()

    def _fail(self, exc: Exception) -> None:
        for fut in (self._handshake, self._opened, *self.connected.values()):
            if not fut.done():
                fut.set_exception(exc)
                # Retrieved or not, a refusal here is reported by whoever awaits it.
                fut.exception()

    def _frame(self, frame: Frame) -> None:
        if frame.opcode not in (Opcode.TEXT, Opcode.CONT):
            return
        if not frame.fin:
            self._partial.append(bytes(frame.data))
            return
        if self._partial:
            self._partial.append(bytes(frame.data))
            text = b"".join(self._partial).decode()
            self._partial.clear()
        else:
            text = bytes(frame.data).decode()
        if text == "2":
            self._send("3")
        elif text.startswith("4"):
            self._packet(text)
        elif text.startswith("0") and not self._opened.done():
            self._opened.set_result(None)

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
