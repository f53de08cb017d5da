"""One credential order for HTTP and sockets: the explicit token, then the cookie (also as a fallback)."""

from __future__ import annotations

import httpx

from tests.support.clients import Account, connect, register
from tests.support.server import ServerProcess


async def _private_conversation(server: ServerProcess, owner: Account) -> int:
    """A conversation only `owner` is a member of: joining it tells who a socket is."""
    async with httpx.AsyncClient(base_url=server.url, headers=owner.bearer) as http:
        r = await http.post("/api/conversations", json={"member_ids": []})
        assert r.status_code == 201, r.text
        conversation_id: int = r.json()["conversation"]["id"]
        return conversation_id


async def _joins(server: ServerProcess, conversation_id: int, **how: object) -> bool:
    client, _ = await connect(server.url, namespaces=("/chat",), **how)  # type: ignore[arg-type]
    try:
        ack = await client.call(
            "conversation:join", {"conversation_id": conversation_id}, namespace="/chat", timeout=5
        )
        return bool(ack["ok"])
    finally:
        await client.disconnect()


async def test_sockets_take_the_auth_token_before_the_cookie(server: ServerProcess) -> None:
    alice, bob = await register(server.url), await register(server.url)
    bobs = await _private_conversation(server, bob)
    assert not await _joins(server, bobs, user=alice)  # the join tells who the socket is
    # Alice's cookie, Bob's explicit token: the socket is Bob's.
    both = {"auth": {"token": bob.token}, "user": alice}
    assert await _joins(server, bobs, **both)
    # A refused explicit token falls back to the cookie (a tab's stale copy).
    stale = {"auth": {"token": "not-a-jwt"}, "user": bob}
    assert await _joins(server, bobs, **stale)


async def test_sockets_read_the_authorization_header_too(server: ServerProcess) -> None:
    # Non-browser clients may send the header on the handshake, as on HTTP.
    alice, bob = await register(server.url), await register(server.url)
    bobs = await _private_conversation(server, bob)
    assert await _joins(server, bobs, headers=bob.bearer)
    assert await _joins(server, bobs, headers=bob.bearer, transports=["polling"])
    assert not await _joins(server, bobs, headers=alice.bearer)


async def test_http_takes_the_bearer_before_the_cookie(server: ServerProcess) -> None:
    alice, bob = await register(server.url), await register(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        both = await http.get("/api/auth/me", headers={**bob.bearer, **alice.cookie})
        assert both.json()["user"]["id"] == bob.id
        stale = await http.get(
            "/api/auth/me", headers={"Authorization": "Bearer not-a-jwt", **alice.cookie}
        )
        assert stale.json()["user"]["id"] == alice.id
        # Both refused: the explicit token's refusal is the answer.
        refused = await http.get(
            "/api/auth/me", headers={"Authorization": "Bearer not-a-jwt", "Cookie": "auth_token="}
        )
        assert (refused.status_code, refused.json()["detail"]) == (401, "invalid_token")
