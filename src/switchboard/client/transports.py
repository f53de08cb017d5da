"""How Engine.IO packets reach a server: WebSocket (aiohttp) and long-polling (httpx).

A transport moves already-encoded Engine.IO packets (text with their type
digit, bytes for binary messages) and hands back decoded ones; the protocol
itself is `switchboard.transport.client.ClientSession`. `open_transport`
does the Engine.IO handshake for the transports asked for, upgrading from
polling to WebSocket the way socket.io-client does (probe, then UPGRADE).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import aiohttp
import httpx

from switchboard.transport import engineio as eio
from switchboard.transport.engineio import EngineProtocolError

PATH: Final = "/socket.io/"
KNOWN_TRANSPORTS: Final = frozenset({"websocket", "polling"})
# What one server message may hold: Switchboard's events are small, but a
# server is still the network, so nothing unbounded is buffered.
MAX_MESSAGE: Final = 4 * 1024 * 1024


class TransportError(Exception):
    """The transport cannot carry packets any more (closed, refused, broken, not Engine.IO)."""


class Transport(Protocol):
    """One Engine.IO transport of one session."""

    name: str

    async def send(self, packets: Sequence[str | bytes]) -> None:
        """Send packets in order; raises `TransportError` when the transport is gone."""

    async def receive(self) -> list[eio.Packet]:
        """The next packets from the server; raises `TransportError` when the transport is gone."""

    async def close(self) -> None:
        """Close the transport (idempotent); a pending `receive` raises `TransportError`."""


def engine_url(base_url: str, transport: str, sid: str | None = None) -> str:
    query = f"EIO=4&transport={transport}"
    if sid is not None:
        query += f"&sid={sid}"
    return f"{base_url.rstrip('/')}{PATH}?{query}"


class WebSocketTransport:
    """Engine.IO over one WebSocket (aiohttp): one message per packet."""

    name = "websocket"

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._session = session
        self._ws = ws

    @classmethod
    async def open(
        cls, base_url: str, headers: Mapping[str, str], sid: str | None = None
    ) -> WebSocketTransport:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                engine_url(base_url, "websocket", sid),
                headers=dict(headers),
                max_msg_size=MAX_MESSAGE,
                # Engine.IO has its own heartbeat; the connection watches it.
                heartbeat=None,
            )
        except (aiohttp.ClientError, OSError) as exc:
            await session.close()
            raise TransportError(f"websocket: {exc}") from exc
        except BaseException:
            await session.close()
            raise
        return cls(session, ws)

    async def send(self, packets: Sequence[str | bytes]) -> None:
        try:
            for packet in packets:
                if isinstance(packet, str):
                    await self._ws.send_str(packet)
                else:
                    await self._ws.send_bytes(packet)
        except (aiohttp.ClientError, OSError, RuntimeError) as exc:
            # aiohttp raises ClientConnectionResetError (an OSError) or RuntimeError
            # on a closed socket, depending on where it notices.
            raise TransportError(f"websocket send: {exc}") from exc

    async def receive(self) -> list[eio.Packet]:
        message = await self._ws.receive()
        if message.type == aiohttp.WSMsgType.TEXT:
            try:
                return [eio.decode_text(message.data)]
            except EngineProtocolError as exc:
                raise TransportError(str(exc)) from exc
        if message.type == aiohttp.WSMsgType.BINARY:
            return [(eio.MESSAGE, message.data)]
        raise TransportError(f"websocket closed ({message.type.name}, {self._ws.close_code})")

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            await self._session.close()


class PollingTransport:
    """Engine.IO over HTTP long-polling (httpx): GET receives, POST sends."""

    name = "polling"

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, sid: str, headers: Mapping[str, str]
    ) -> None:
        self._http = http
        self._url = engine_url(base_url, "polling", sid)
        self._headers = dict(headers)
        self._sending = asyncio.Lock()  # the server refuses overlapping POSTs

    async def send(self, packets: Sequence[str | bytes]) -> None:
        body = eio.Outgoing(*packets).polling
        async with self._sending:
            try:
                response = await self._http.post(
                    self._url,
                    content=body.encode("utf-8"),
                    headers={**self._headers, "content-type": "text/plain;charset=UTF-8"},
                )
            except httpx.HTTPError as exc:
                raise TransportError(f"polling send: {exc}") from exc
        if response.status_code != 200:
            raise TransportError(f"polling send: HTTP {response.status_code}")

    async def receive(self) -> list[eio.Packet]:
        return await _poll(self._http, self._url, self._headers)

    async def close(self) -> None:
        await self._http.aclose()


async def _poll(http: httpx.AsyncClient, url: str, headers: Mapping[str, str]) -> list[eio.Packet]:
    """One GET, its body read up to `MAX_MESSAGE` and decoded."""
    try:
        async with http.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise TransportError(f"polling: HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_MESSAGE:
                    raise TransportError("polling: the server's answer is too large")
    except httpx.HTTPError as exc:
        raise TransportError(f"polling: {exc}") from exc
    try:
        return eio.decode_payload(body.decode("utf-8"))
    except (UnicodeDecodeError, EngineProtocolError) as exc:
        raise TransportError(f"polling: {exc}") from exc


async def open_transport(
    base_url: str, transports: Sequence[str], headers: Mapping[str, str], *, http_timeout: float
) -> tuple[Transport, list[eio.Packet]]:
    """Handshake: a transport and the packets already received on it (OPEN first)."""
    if "polling" not in transports:
        return await WebSocketTransport.open(base_url, headers), []
    # Polling GETs wait up to a heartbeat (25 s by default) before the server answers.
    http = httpx.AsyncClient(timeout=httpx.Timeout(http_timeout, read=None))
    try:
        handshake = engine_url(base_url, "polling") + "&t=" + secrets.token_urlsafe(6)
        first = await _poll(http, handshake, headers)
        if not first or first[0][0] != eio.OPEN:
            raise TransportError("polling: the handshake did not answer OPEN")
        info = eio.decode_open(first[0][1])
    except EngineProtocolError as exc:
        await http.aclose()
        raise TransportError(str(exc)) from exc
    except BaseException:
        await http.aclose()
        raise
    if "websocket" in transports and "websocket" in info.upgrades:
        upgraded = await _upgrade(base_url, headers, info.sid)
        if upgraded is not None:
            await http.aclose()
            return upgraded, first
    return PollingTransport(http, base_url, info.sid, headers), first


async def _upgrade(base_url: str, headers: Mapping[str, str], sid: str) -> Transport | None:
    """Move a polling session to WebSocket; None (stay on polling) when the probe fails.

    It runs before any GET is pending, so no NOOP is needed to release one.
    """
    try:
        ws = await WebSocketTransport.open(base_url, headers, sid)
    except TransportError:
        return None
    try:
        await ws.send([f"{eio.PING}probe"])
        if await ws.receive() != [(eio.PONG, "probe")]:
            raise TransportError("the upgrade probe was not answered")
        await ws.send([str(eio.UPGRADE)])
    except TransportError:
        await ws.close()
        return None
    return ws
