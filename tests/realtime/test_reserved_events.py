"""Event names are data: a client cannot run the server's own connect/disconnect paths.

A client that emitted an ordinary event named `disconnect` used to run the
server's disconnect bookkeeping (its token-expiry timer was cancelled and it
was shown offline, while its transport and rooms stayed). Now every name a
client may not send is refused with `invalid_payload` and changes nothing.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from tests.realtime.test_token_lifetime import disconnected, short_token
from tests.support.clients import connect, register
from tests.support.server import ServerProcess

RESERVED = ["disconnect", "connect", "connect_error", "disconnecting", "newListener"]


async def online(server: ServerProcess, token: str, user_id: int) -> bool:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        r = await http.get("/api/presence", params={"user_ids": str(user_id)})
        is_online: bool = r.json()["online"][str(user_id)]
        return is_online


@pytest.mark.parametrize("name", RESERVED)
async def test_reserved_event_names_are_refused_and_change_nothing(
    server: ServerProcess, name: str
) -> None:
    user = await register(server.url)
    client, _rec = await connect(server.url, user, events={"/chat": ["presence"]})
    try:
        ack = await client.call(name, {}, namespace="/chat", timeout=5)
        assert ack["ok"] is False
        assert ack["error"]["code"] == "invalid_payload"
        assert "reserved" in ack["error"]["message"]
        assert await online(server, user.token, user.id)
        # The socket still works.
        ok = await client.call("presence:query", {"user_ids": [user.id]}, namespace="/chat")
        assert ok == {"ok": True, "online": {str(user.id): True}}
    finally:
        await client.disconnect()


async def test_a_disconnect_event_does_not_cancel_token_expiry(server: ServerProcess) -> None:
    user = await register(server.url)
    user.token = short_token(user, 3)
    client, rec = await connect(
        server.url, user, namespaces=("/chat",), events={"/chat": ["auth:expired"]}
    )
    try:
        ack = await client.call("disconnect", {}, namespace="/chat", timeout=5)
        assert ack["error"]["code"] == "invalid_payload"
        await rec.wait_for("/chat", "auth:expired", timeout=10)
        assert await disconnected(client)
    finally:
        await client.disconnect()


async def test_an_event_whose_name_is_not_a_string_is_answered(server: ServerProcess) -> None:
    user = await register(server.url)
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, additional_headers=user.cookie) as ws:
        assert str(await ws.recv()).startswith("0{")
        await ws.send("40/chat,")
        assert str(await ws.recv()).startswith("40/chat,")
        await ws.send('42/chat,8[{"x":1},{}]')
        await ws.send("42/chat,9[17]")
        answers: dict[str, object] = {}
        while len(answers) < 2:
            frame = str(await asyncio.wait_for(ws.recv(), 5))
            if frame.startswith("43/chat,"):
                ack_id = frame[len("43/chat,") : frame.index("[")]
                answers[ack_id] = json.loads(frame[frame.index("[") :])[0]
        for ack in answers.values():
            assert ack == {
                "ok": False,
                "error": {"code": "invalid_payload", "message": "the event name must be a string"},
            }
        # The connection is still open and served.
        await ws.send('42/chat,10["presence:query",{"user_ids":[]}]')
        while True:
            frame = str(await asyncio.wait_for(ws.recv(), 5))
            if frame.startswith("43/chat,10"):
                assert json.loads(frame[len("43/chat,10") :]) == [{"ok": True, "online": {}}]
                break
