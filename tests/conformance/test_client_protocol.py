"""Switchboard's Python client transport against the reference server: the client side.

The same reference application the server conformance tests use (namespaces
`/` and `/custom`, an `auth` event with the CONNECT payload, `message-with-ack`
acked with its arguments; ping interval 300 ms, timeout 200 ms), reached by
`SocketConnection` over each transport and WebSocket path: CONNECT with auth,
events, acks with binary attachments, heartbeats answered, refusal, and a
server that goes silent.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from switchboard.client.connection import ConnectError, SocketConnection
from tests.conformance.client import ReferenceServer

# Heartbeats of 300/200 ms: run alone, after the parallel part of `make test`.
pytestmark = pytest.mark.serial

AUTH = {"token": "t-1"}


class Recorder:
    """States and events as the connection reports them, waited for without blind sleeps."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self.events: list[tuple[str, str, list[Any]]] = []
        self._changed = asyncio.Event()

    async def state(self, state: str) -> None:
        self.states.append(state)
        self._changed.set()

    def event(self, namespace: str, name: str, args: list[Any]) -> None:
        self.events.append((namespace, name, args))
        self._changed.set()

    async def until(self, predicate: Any, timeout: float = 10.0) -> None:
        async def _wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)


def client(
    url: str,
    rec: Recorder,
    transports: tuple[str, ...] = ("websocket",),
    namespaces: tuple[str, ...] = ("/", "/custom"),
    **options: Any,
) -> SocketConnection:
    return SocketConnection(
        url,
        namespaces,
        auth=lambda: dict(AUTH),
        headers=dict,
        on_state=rec.state,
        on_event=rec.event,
        transports=transports,
        **options,
    )


@pytest.mark.parametrize(
    ("transports", "ends_on"),
    [
        (("websocket",), "websocket"),
        (("polling",), "polling"),
        (("polling", "websocket"), "websocket"),
    ],
)
async def test_connect_events_acks_binary_and_heartbeats(
    socketio_any: ReferenceServer, transports: tuple[str, ...], ends_on: str
) -> None:
    rec = Recorder()
    conn = client(socketio_any.http, rec, transports)
    await conn.connect()
    try:
        assert rec.states == ["connected"]
        assert conn.connected
        assert conn.transport is not None
        assert conn.transport.name == ends_on
        assert conn.sid("/")
        assert conn.sid("/custom")
        assert conn.sid("/") != conn.sid("/custom")

        await rec.until(lambda: len(rec.events) == 2)
        assert sorted(rec.events) == [("/", "auth", [AUTH]), ("/custom", "auth", [AUTH])]

        assert await conn.call("/", "message-with-ack", {"a": [1, "é"]}) == {"a": [1, "é"]}
        assert await conn.call("/", "message-with-ack", b"\x00\x01\xff") == b"\x00\x01\xff"
        assert await conn.call("/", "message-with-ack", {"k": b"\x02"}) == {"k": b"\x02"}

        # Several heartbeats (300 ms + 200 ms): a client that did not pong would be cut.
        await asyncio.sleep(1.5)
        assert conn.connected
        assert rec.states == ["connected"]
        assert await conn.call("/", "message-with-ack", "still here") == "still here"
    finally:
        await conn.disconnect()
    assert rec.states == ["connected", "disconnected"]
    assert not conn.connected
    assert conn.sid("/") is None


async def test_an_unknown_namespace_is_refused(socketio_server: ReferenceServer) -> None:
    rec = Recorder()
    conn = client(socketio_server.http, rec, namespaces=("/", "/nowhere"))
    with pytest.raises(ConnectError, match="/nowhere: Invalid namespace"):
        await conn.connect()
    assert rec.states == []
    assert conn.transport is None


@pytest.fixture
def own_server(tmp_path: Any) -> Iterator[ReferenceServer]:
    """A reference server of this test's own: it gets stopped with SIGSTOP."""
    proc = ReferenceServer("socket.io", tmp_path).start()
    yield proc
    assert proc.proc is not None
    os.kill(proc.proc.pid, signal.SIGCONT)
    proc.stop()


async def test_a_silent_server_is_left_and_reconnected_to(own_server: ReferenceServer) -> None:
    """No ping within interval + timeout: the transport is dead even without a FIN."""
    assert own_server.proc is not None
    pid = own_server.proc.pid
    rec = Recorder()
    conn = client(
        own_server.http, rec, reconnection_delay=0.1, reconnection_delay_max=0.5, timeout=2.0
    )
    await conn.connect()
    try:
        os.kill(pid, signal.SIGSTOP)  # the process holds its sockets open and says nothing
        await rec.until(lambda: rec.states[-1] == "reconnecting")
        assert not conn.connected
        os.kill(pid, signal.SIGCONT)
        await rec.until(lambda: rec.states[-1] == "connected", timeout=20)
        assert rec.states == ["connected", "reconnecting", "connected"]
        assert await conn.call("/", "message-with-ack", 1) == 1
    finally:
        os.kill(pid, signal.SIGCONT)
        await conn.disconnect()
