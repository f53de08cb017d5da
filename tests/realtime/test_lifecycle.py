"""Connection lifecycle: connect timeout, slow consumers, SIGTERM drain, memory per cycle."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time

import httpx
import websockets

from tests.support.clients import connect, register
from tests.support.server import ServerProcess

WS_PATH = "/socket.io/?EIO=4&transport=websocket"


async def test_engineio_session_without_a_namespace_is_closed_after_the_connect_timeout(
    server_factory,
) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory(env={"SWITCHBOARD_CONNECT_TIMEOUT_SECONDS": "1"})
    url = srv.url.replace("http", "ws") + WS_PATH
    async with websockets.connect(url) as ws:
        opened = await asyncio.wait_for(ws.recv(), 5)
        assert str(opened).startswith("0{")
        # Send nothing: the server must close the half-open session by itself.
        frames = []
        closed = False
        try:
            while True:
                frames.append(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed:
            closed = True
        assert closed
        assert "1" in frames  # the Engine.IO CLOSE packet came first


async def test_slow_consumer_is_disconnected_and_others_keep_receiving(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv = server_factory(
        env={
            "SWITCHBOARD_MAX_QUEUE": "20",
            "SWITCHBOARD_MAX_MESSAGE_CHARS": "200000",
            "SWITCHBOARD_RATE_LIMIT": "0",
        }
    )
    alice = await register(srv.url)
    bob = await register(srv.url)
    async with httpx.AsyncClient(base_url=srv.url, headers=alice.bearer, timeout=30) as http:
        conv = (await http.post("/api/conversations", json={"member_ids": [bob.id]})).json()[
            "conversation"
        ]
        # Bob's slow tab: a raw websocket that joins /chat and then never reads.
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small fixed receive buffer (no autotuning) and no permessage-deflate (which
        # would shrink the repetitive bodies to nothing): the server's queue fills soon.
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        raw.connect(("127.0.0.1", srv.port))
        raw.setblocking(False)
        slow = await websockets.connect(
            srv.url.replace("http", "ws") + WS_PATH,
            max_size=None,
            compression=None,
            additional_headers=bob.cookie,
            sock=raw,
        )
        await slow.recv()
        await slow.send("40/chat,")
        assert (await asyncio.wait_for(slow.recv(), 5)).startswith("40/chat,")
        slow.transport.pause_reading()  # stop reading: the kernel buffers fill, then the server's queue
        # Bob's healthy tab keeps reading.
        fast, rec = await connect(
            srv.url, bob, namespaces=("/chat",), events={"/chat": ["message:new"]}
        )
        try:
            body = "x" * 150_000
            sent = 120
            for i in range(sent):
                r = await http.post(
                    f"/api/conversations/{conv['id']}/messages", json={"body": f"{i}:{body}"}
                )
                assert r.status_code == 201
            got = await rec.wait_for("/chat", "message:new", count=sent, timeout=60)
            assert [m["body"].split(":")[0] for m in got] == [str(i) for i in range(sent)]
            metrics = (await http.get("/metrics")).text
            line = next(
                ln
                for ln in metrics.splitlines()
                if ln.startswith("switchboard_slow_consumer_disconnects_total")
            )
            assert float(line.split()[-1]) >= 1
            assert (await http.get("/healthz")).status_code == 200
        finally:
            await fast.disconnect()
            slow.transport.abort()


async def test_sigterm_tells_clients_to_reconnect_and_exits_promptly(server_factory) -> None:  # type: ignore[no-untyped-def]
    srv: ServerProcess = server_factory()
    user = await register(srv.url)
    disconnects: list[str] = []
    ws_client, _ = await connect(srv.url, user, namespaces=("/chat",))
    poll_client, _ = await connect(srv.url, user, namespaces=("/chat",), transports=["polling"])
    for c in (ws_client, poll_client):
        c.on("disconnect", lambda reason=None: disconnects.append(str(reason)), namespace="/chat")
    try:
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        code = await asyncio.to_thread(srv.proc.wait, 30)  # type: ignore[union-attr]
        elapsed = time.monotonic() - started
        print(f"SIGTERM to exit: {elapsed:.2f}s")
        # uvicorn re-raises the SIGTERM it handled once shutdown is complete.
        assert code in (0, -signal.SIGTERM)
        assert "Switchboard stopped" in srv.log()
        for _ in range(50):
            if len(disconnects) == 2:
                break
            await asyncio.sleep(0.1)
        # A lost transport (not a Socket.IO DISCONNECT): clients reconnect by themselves.
        assert len(disconnects) == 2
        assert all("transport" in r for r in disconnects), disconnects
    finally:
        await ws_client.disconnect()
        await poll_client.disconnect()


async def test_connect_disconnect_cycles_do_not_grow_memory(server: ServerProcess) -> None:
    """2,000 connect/disconnect cycles (1,000 clients × 2 namespaces); RSS growth printed."""
    user = await register(server.url)
    url = server.url.replace("http", "ws") + WS_PATH
    token = json.dumps({"token": user.token})

    async def cycle() -> None:
        async with websockets.connect(url) as ws:
            await ws.recv()
            await ws.send(f"40/chat,{token}")
            await ws.send(f"40/notifications,{token}")
            seen = 0
            while seen < 2:
                frame = await ws.recv()
                if str(frame).startswith("40/"):
                    seen += 1
            # A clean client disconnect: no recovery session is kept for it.
            await ws.send("41/chat,")
            await ws.send("41/notifications,")

    # Warm-up at the same concurrency: allocator pools and caches settle within
    # about a thousand connections (measured: +5 MB, then +2.4, +0.8, +1.4, +0.6).
    for _ in range(20):
        await asyncio.gather(*(cycle() for _ in range(50)))
    before = server.rss_kib()
    for _batch in range(20):
        await asyncio.gather(*(cycle() for _ in range(50)))
    await asyncio.sleep(1.0)
    after = server.rss_kib()
    growth = after - before
    print(
        f"RSS before {before} KiB, after 2,000 namespace connects/disconnects {after} KiB, growth {growth} KiB"
    )
    async with httpx.AsyncClient(base_url=server.url) as http:
        metrics = (await http.get("/metrics")).text
    gauges = [ln for ln in metrics.splitlines() if ln.startswith("switchboard_connected_sockets{")]
    assert all(float(g.split()[-1]) == 0 for g in gauges), gauges
    # Generous: a leak of the request scope per connection would be ~10 KiB x 1,000.
    assert growth < 16 * 1024
