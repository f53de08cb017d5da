"""Chat on PostgreSQL: the same queries, the client_msg_id race and read state, two nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.chat.helpers import Tab, close_all, create_conversation, http_send
from tests.support.clients import register
from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster


@pytest.fixture
def postgres() -> Iterator[PostgresProcess]:
    proc = PostgresProcess().start()
    yield proc
    proc.cleanup()


async def test_chat_on_postgres_with_two_processes(
    postgres: PostgresProcess, server_factory: Callable[..., ServerProcess]
) -> None:
    env = {"SWITCHBOARD_DATABASE_URL": postgres.url, "SWITCHBOARD_RATE_LIMIT": "0"}
    one = server_factory(env=env)
    two = server_factory(env=env)
    alice, bob = await register(one.url), await register(two.url)
    cid = (await create_conversation(one.url, alice, [bob], title="pg"))["id"]
    for i in range(5):
        replies = await asyncio.gather(
            *(
                http_send(srv.url, alice, cid, f"race {i}", client_msg_id=f"r-{i}")
                for srv in (one, two, one, two)
            )
        )
        assert {r.status_code for r in replies} == {201}
        assert len({r.json()["message"]["id"] for r in replies}) == 1

    a1, b1 = await Tab.open(one.url, alice), await Tab.open(two.url, bob)
    try:
        ack = await a1.call("message:send", {"conversation_id": cid, "body": "socket on pg"})
        assert ack["ok"] is True
        assert await a1.wait("message:new", 1) == [ack["message"]]
        read = await b1.call(
            "message:read", {"conversation_id": cid, "message_id": ack["message"]["id"]}
        )
        assert read == {"ok": True}
        assert (await b1.wait("message:read", 1))[0]["message_id"] == ack["message"]["id"]
        for_bob = (await http_send(two.url, alice, cid, "unread one")).json()["message"]
    finally:
        await close_all([a1, b1])

    async with httpx.AsyncClient(base_url=two.url, headers=bob.bearer) as http:
        listed = (await http.get("/api/conversations")).json()["conversations"]
        assert [(c["id"], c["unread_count"]) for c in listed] == [(cid, 1)]
        assert listed[0]["last_message"] == for_bob
        first = (await http.get(f"/api/conversations/{cid}/messages?limit=4")).json()["messages"]
        rest = (
            await http.get(f"/api/conversations/{cid}/messages?before={first[0]['id']}")
        ).json()["messages"]
    bodies = [m["body"] for m in rest + first]
    assert bodies == [f"race {i}" for i in range(5)] + ["socket on pg", "unread one"]


async def test_page_extensions_on_postgres(
    postgres: PostgresProcess, server_factory: Callable[..., ServerProcess]
) -> None:
    srv = server_factory(env={"SWITCHBOARD_DATABASE_URL": postgres.url})
    alice, bob = await register(srv.url), await register(srv.url)
    cid = (await create_conversation(srv.url, alice, [bob]))["id"]
    for body in ["Rendez-vous à l'ÉCOLE", "50% off", "nothing"]:
        assert (await http_send(srv.url, alice, cid, body)).status_code == 201
    async with httpx.AsyncClient(base_url=srv.url, headers=bob.bearer) as http:
        url = f"/api/conversations/{cid}/search"
        # PostgreSQL's lower() folds beyond ASCII.
        found = (await http.get(url, params={"q": "école"})).json()["messages"]
        assert [m["body"] for m in found] == ["Rendez-vous à l'ÉCOLE"]
        assert [m["body"] for m in (await http.get(url, params={"q": "%"})).json()["messages"]] == [
            "50% off"
        ]
        assert (await http.get(url, params={"q": "a\x00b"})).status_code == 422
        reads = (await http.get(f"/api/conversations/{cid}/reads")).json()["reads"]
        assert {r["user_id"]: r["message_id"] for r in reads} == {alice.id: None, bob.id: None}
        renamed = await http.patch(f"/api/conversations/{cid}", json={"title": "Ami·e·s"})
        assert renamed.json()["conversation"]["title"] == "Ami·e·s"
        assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 204
        assert (await http.get(url, params={"q": "x"})).status_code == 403
