"""Chat test helpers: conversations over HTTP and a table of connected tabs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import socketio

from tests.support.clients import Account, Recorder, connect

CHAT = "/chat"
CHAT_EVENTS = ["message:new", "typing", "message:read", "presence", "conversation:updated"]
MESSAGE_KEYS = {"id", "conversation_id", "sender_id", "body", "created_at", "client_msg_id"}


async def create_conversation(
    base_url: str, owner: Account, members: list[Account], title: str | None = None
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as http:
        r = await http.post(
            "/api/conversations",
            json={"member_ids": [m.id for m in members], "title": title},
            headers=owner.bearer,
        )
    assert r.status_code == 201, r.text
    conversation: dict[str, Any] = r.json()["conversation"]
    return conversation


async def http_send(
    base_url: str, user: Account, cid: int, body: str, client_msg_id: str | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url) as http:
        return await http.post(
            f"/api/conversations/{cid}/messages",
            json={"body": body, "client_msg_id": client_msg_id},
            headers=user.bearer,
        )


def payloads(rec: Recorder, event: str) -> list[Any]:
    """What a tab received for `event`, without a recovery offset if one was appended."""
    return [e[0] if isinstance(e, list) else e for e in rec.of(CHAT, event)]


class Tab:
    """One connected `/chat` socket of a user, with what it received."""

    def __init__(self, user: Account, client: socketio.AsyncClient, rec: Recorder) -> None:
        self.user = user
        self.client = client
        self.rec = rec

    @classmethod
    async def open(cls, base_url: str, user: Account) -> Tab:
        client, rec = await connect(base_url, user, namespaces=(CHAT,), events={CHAT: CHAT_EVENTS})
        return cls(user, client, rec)

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(event, data, namespace=CHAT, timeout=10)

    def got(self, event: str) -> list[Any]:
        return payloads(self.rec, event)

    async def wait(self, event: str, count: int) -> list[Any]:
        await self.rec.wait_for(CHAT, event, count, timeout=10)
        return self.got(event)

    async def close(self) -> None:
        await self.client.disconnect()


async def open_tabs(base_url: str, *users: Account, per_user: int = 2) -> list[Tab]:
    return list(
        await asyncio.gather(*(Tab.open(base_url, u) for u in users for _ in range(per_user)))
    )


async def close_all(tabs: list[Tab]) -> None:
    await asyncio.gather(*(t.close() for t in tabs), return_exceptions=True)
