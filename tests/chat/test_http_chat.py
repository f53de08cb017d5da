"""Chat over HTTP: conversations, history pages, posting, and parity with the socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.chat.helpers import MESSAGE_KEYS, Tab, close_all, create_conversation, http_send
from tests.support.clients import Account
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]


async def test_create_conversation_validates_members(server: ServerProcess, users: Users) -> None:
    alice, bob = await users(), await users()
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        r = await http.post("/api/conversations", json={"member_ids": [bob.id, bob.id]})
        assert r.status_code == 201
        conv = r.json()["conversation"]
        assert set(conv) == {"id", "title", "member_ids", "created_at"}
        assert conv["member_ids"] == sorted([alice.id, bob.id])
        assert conv["title"] is None
        titled = await http.post(
            "/api/conversations", json={"member_ids": [bob.id], "title": "  Lunch  "}
        )
        assert titled.json()["conversation"]["title"] == "Lunch"
        for bad in [
            {"member_ids": [bob.id, 2**40]},  # unknown user
            {"member_ids": list(range(1, 102))},  # too many
            {"member_ids": ["1"]},
            {"member_ids": [True]},
            {"member_ids": bob.id},
            {"member_ids": [bob.id], "title": 7},
            {"member_ids": [bob.id], "title": "x" * 201},
            {"member_ids": [-1]},
            {"member_ids": [2**70]},
            {},
        ]:
            r = await http.post("/api/conversations", json=bad)
            assert r.status_code == 422, (bad, r.text)
            assert "Traceback" not in r.text
    async with httpx.AsyncClient(base_url=server.url) as anon:
        assert (await anon.post("/api/conversations", json={"member_ids": []})).status_code == 401
        assert (await anon.get("/api/conversations")).status_code == 401


async def test_http_post_and_socket_send_store_and_broadcast_the_same(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    a1, b1 = await Tab.open(server.url, alice), await Tab.open(server.url, bob)
    try:
        r = await http_send(server.url, alice, cid, "over http", client_msg_id="h-1")
        assert r.status_code == 201
        over_http = r.json()["message"]
        assert set(over_http) == MESSAGE_KEYS
        ack = await a1.call(
            "message:send", {"conversation_id": cid, "body": "over socket", "client_msg_id": "s-1"}
        )
        over_socket = ack["message"]
        # Same shape, same broadcast to everyone, the sender's own socket included.
        for tab in (a1, b1):
            assert await tab.wait("message:new", 2) == [over_http, over_socket]
        # An HTTP retry of a socket-sent client_msg_id is the stored message, not a new one.
        again = await http_send(server.url, alice, cid, "ignored", client_msg_id="s-1")
        assert again.json()["message"] == over_socket
        async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
            history = (await http.get(f"/api/conversations/{cid}/messages")).json()
        assert history == {"messages": [over_http, over_socket]}
        marker = await b1.call("message:send", {"conversation_id": cid, "body": "marker"})
        got = await a1.wait("message:new", 3)
        assert got == [over_http, over_socket, marker["message"]]
    finally:
        await close_all([a1, b1])


async def test_http_message_validation(server: ServerProcess, users: Users) -> None:
    alice, bob, mallory = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        url = f"/api/conversations/{cid}/messages"
        assert (await http.post(url, json={"body": "x" * 4000})).status_code == 201
        too_long = await http.post(url, json={"body": "x" * 4001})
        assert too_long.status_code == 413
        assert too_long.json()["code"] == "too_large"
        for bad in [
            {"body": "   \n\t "},
            {"body": ""},
            {"body": 5},
            {"body": None},
            {"body": "nul \x00 inside"},
            {"body": "ok", "client_msg_id": "x" * 101},
            {"body": "ok", "client_msg_id": 3},
            {},
        ]:
            r = await http.post(url, json=bad)
            assert r.status_code == 422, (bad, r.text)
        for query in [
            "before=abc",
            "before=-1",
            "before=" + "9" * 20,
            "limit=0",
            "limit=101",
            "limit=x",
        ]:
            assert (await http.get(f"{url}?{query}")).status_code == 422, query
        assert (await http.get("/api/conversations/0/messages")).status_code == 422
        assert (await http.get(f"/api/conversations/{2**40}/messages")).status_code == 404
        assert (
            await http.post(f"/api/conversations/{2**40}/messages", json={"body": "x"})
        ).status_code == 404
    async with httpx.AsyncClient(base_url=server.url, headers=mallory.bearer) as http:
        assert (await http.get(url)).status_code == 403
        assert (await http.post(url, json={"body": "intrude"})).status_code == 403
        listed = (await http.get("/api/conversations")).json()
        assert cid not in [c["id"] for c in listed["conversations"]]
    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        bodies = [m["body"] for m in (await http.get(url)).json()["messages"]]
        assert bodies == ["x" * 4000]


async def test_conversation_list_has_last_message_and_unread_count_newest_first(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    quiet = (await create_conversation(server.url, alice, [bob], title="quiet"))["id"]
    busy = (await create_conversation(server.url, alice, [bob], title="busy"))["id"]
    empty = (await create_conversation(server.url, bob, [], title="notes"))["id"]
    first = (await http_send(server.url, alice, quiet, "q1")).json()["message"]
    for i in range(3):
        await http_send(server.url, alice, busy, f"b{i}")
    own = (await http_send(server.url, bob, busy, "mine")).json()["message"]
    # quiet becomes the newest activity again.
    last_quiet = (await http_send(server.url, alice, quiet, "q2")).json()["message"]

    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        listed = (await http.get("/api/conversations")).json()["conversations"]
        assert [c["id"] for c in listed] == [quiet, busy, empty]
        by_id = {c["id"]: c for c in listed}
        assert by_id[quiet]["last_message"] == last_quiet
        assert by_id[quiet]["unread_count"] == 2
        assert by_id[busy]["last_message"] == own
        assert by_id[busy]["unread_count"] == 3  # bob's own message is not unread
        assert by_id[empty]["last_message"] is None
        assert by_id[empty]["unread_count"] == 0
        assert by_id[quiet]["member_ids"] == sorted([alice.id, bob.id])
        assert by_id[empty]["member_ids"] == [bob.id]
        assert {"id", "title", "member_ids", "created_at", "last_message", "unread_count"} == set(
            listed[0]
        )

    b1 = await Tab.open(server.url, bob)
    try:
        ack = await b1.call("message:read", {"conversation_id": quiet, "message_id": first["id"]})
        assert ack == {"ok": True}
    finally:
        await b1.close()
    async with httpx.AsyncClient(base_url=server.url) as http:
        mine = (await http.get("/api/conversations", headers=bob.bearer)).json()
        assert {c["id"]: c["unread_count"] for c in mine["conversations"]}[quiet] == 1
        theirs = (await http.get("/api/conversations", headers=alice.bearer)).json()
        assert [c["id"] for c in theirs["conversations"]] == [quiet, busy]
        assert {c["id"]: c["unread_count"] for c in theirs["conversations"]} == {quiet: 0, busy: 1}


def _bulk_insert(server: ServerProcess, cid: int, sender_id: int, bodies: list[str]) -> None:
    """Seed messages straight into the server's database (one transaction, WAL mode)."""
    from sqlalchemy import create_engine, insert

    from switchboard.storage.models import Message, utcnow

    engine = create_engine(f"sqlite:///{server.workdir / 'switchboard.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout=10000")
            now = utcnow()
            conn.execute(
                insert(Message),
                [
                    {"conversation_id": cid, "sender_id": sender_id, "body": b, "created_at": now}
                    for b in bodies
                ],
            )
    finally:
        engine.dispose()


async def test_pagination_walk_returns_every_message_once_in_order(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    # Thousands of messages: most seeded in bulk (fast), some posted over HTTP in between.
    await asyncio.to_thread(_bulk_insert, server, cid, alice.id, [f"a{i}" for i in range(1500)])
    posted = [(await http_send(server.url, bob, cid, f"h{i}")).json()["message"] for i in range(20)]
    await asyncio.to_thread(_bulk_insert, server, cid, alice.id, [f"b{i}" for i in range(1500)])
    expected_bodies = [f"a{i}" for i in range(1500)] + [m["body"] for m in posted]
    expected_bodies += [f"b{i}" for i in range(1500)]

    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        for limit in (100, 37):
            seen: list[dict[str, object]] = []
            before: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": limit}
                if before is not None:
                    params["before"] = before
                r = await http.get(f"/api/conversations/{cid}/messages", params=params)
                page = r.json()["messages"]
                if not page:
                    break
                ids = [m["id"] for m in page]
                assert ids == sorted(ids)  # oldest first within a page
                assert len(page) <= limit
                seen = page + seen
                before = ids[0]
            assert [m["body"] for m in seen] == expected_bodies
            ids = [m["id"] for m in seen]
            assert ids == sorted(ids)
            assert len(set(ids)) == len(ids) == 3020
            assert [m for m in seen if m["sender_id"] == bob.id] == posted
        default = (await http.get(f"/api/conversations/{cid}/messages")).json()["messages"]
        assert [m["body"] for m in default] == expected_bodies[-50:]


async def test_client_msg_id_race_across_two_processes_stores_one_message(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # Two server processes on one SQLite file: the per-process send lock cannot
    # serialise them, so only the database's unique constraint keeps retries single.
    from tests.support.clients import register

    shared = tmp_path / "shared"
    one = server_factory(workdir=shared)
    two = server_factory(workdir=shared)
    alice = await register(one.url)
    bob = await register(one.url)
    cid = (await create_conversation(one.url, alice, [bob]))["id"]
    for i in range(10):
        replies = await asyncio.gather(
            *(
                http_send(srv.url, alice, cid, f"race {i}", client_msg_id=f"r-{i}")
                for srv in (one, two, one, two)
            )
        )
        assert {r.status_code for r in replies} == {201}
        assert len({r.json()["message"]["id"] for r in replies}) == 1
    async with httpx.AsyncClient(base_url=two.url, headers=bob.bearer) as http:
        history = (await http.get(f"/api/conversations/{cid}/messages")).json()["messages"]
    assert [m["client_msg_id"] for m in history] == [f"r-{i}" for i in range(10)]
