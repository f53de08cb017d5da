"""Token lifetime on live sockets: expiry ends a socket unless `auth:refresh` came first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from tests.support.clients import Account, connect, register
from tests.support.server import ServerProcess

SECRET = "test-secret-" + "x" * 32


def short_token(user: Account, seconds: int) -> str:
    now = int(time.time())
    return jwt.encode(
        {"sub": str(user.id), "email": user.email, "iat": now, "exp": now + seconds},
        SECRET,
        algorithm="HS256",
    )


async def disconnected(client: Any, within: float = 10.0) -> bool:
    """Whether the server ended every namespace of `client` within `within` seconds."""
    for _ in range(int(within * 10)):
        if not client.namespaces:
            return True
        await asyncio.sleep(0.1)
    return not client.namespaces


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socket_is_told_and_disconnected_when_its_token_expires(
    server: ServerProcess, transport: str
) -> None:
    user = await register(server.url)
    user.token = short_token(user, 2)
    client, rec = await connect(
        server.url,
        user,
        events={"/chat": ["auth:expired"], "/notifications": ["auth:expired"]},
        transports=[transport],
    )
    try:
        await rec.wait_for("/chat", "auth:expired", timeout=10)
        await rec.wait_for("/notifications", "auth:expired", timeout=10)
        assert await disconnected(client)
    finally:
        await client.disconnect()


async def test_auth_refresh_before_expiry_keeps_the_socket(server: ServerProcess) -> None:
    user = await register(server.url)
    user.token = short_token(user, 2)
    client, rec = await connect(
        server.url, user, namespaces=("/chat",), events={"/chat": ["auth:expired"]}
    )
    try:
        ack = await client.call(
            "auth:refresh", {"token": short_token(user, 600)}, namespace="/chat", timeout=5
        )
        assert ack["ok"] is True
        assert ack["expires_at"].startswith(time.strftime("%Y-", time.gmtime()))
        await asyncio.sleep(3.5)
        assert rec.of("/chat", "auth:expired") == []
        assert "/chat" in client.namespaces
        pong = await client.call(
            "presence:query", {"user_ids": [user.id]}, namespace="/chat", timeout=5
        )
        assert pong == {"ok": True, "online": {str(user.id): True}}
    finally:
        await client.disconnect()


async def test_auth_refresh_with_another_users_token_is_refused_and_expiry_still_applies(
    server: ServerProcess,
) -> None:
    user = await register(server.url)
    other = await register(server.url)
    user.token = short_token(user, 2)
    client, rec = await connect(
        server.url, user, namespaces=("/chat",), events={"/chat": ["auth:expired"]}
    )
    try:
        ack = await client.call(
            "auth:refresh", {"token": other.token}, namespace="/chat", timeout=5
        )
        assert ack["ok"] is False
        assert ack["error"]["code"] == "forbidden"
        for bad in ("garbage", {"token": "garbage"}, {"token": 5}, None):
            ack = await client.call("auth:refresh", bad, namespace="/chat", timeout=5)
            assert ack["ok"] is False
            assert ack["error"]["code"] in {"forbidden", "invalid_payload"}
        await rec.wait_for("/chat", "auth:expired", timeout=10)
    finally:
        await client.disconnect()
