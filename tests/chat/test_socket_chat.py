"""/chat with python-socketio: two users, two tabs each, against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from tests.chat.helpers import MESSAGE_KEYS, Tab, close_all, create_conversation, open_tabs
from tests.support.clients import Account
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]


async def test_messages_reach_all_four_tabs_once_in_the_same_order(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    conv = await create_conversation(server.url, alice, [bob])
    cid = conv["id"]
    tabs = await open_tabs(server.url, alice, bob)
    try:
        per_tab = 10

        async def send_all(tab: Tab, n: int) -> list[dict[str, object]]:
            acks = []
            for i in range(n):
                ack = await tab.call(
                    "message:send", {"conversation_id": cid, "body": f"{tab.user.name} {i}"}
                )
                assert ack["ok"] is True, ack
                assert set(ack) == {"ok", "message"}
                assert set(ack["message"]) == MESSAGE_KEYS
                acks.append(ack["message"])
            return acks

        sent = await asyncio.gather(*(send_all(t, per_tab) for t in tabs))
        total = per_tab * len(tabs)
        received = [await t.wait("message:new", total) for t in tabs]

        all_acked = [m for acks in sent for m in acks]
        ids = sorted(m["id"] for m in all_acked)
        assert len(set(ids)) == total
        for got in received:
            # Exactly once each, in id (= send) order, and the same order on every tab.
            assert [m["id"] for m in got] == ids
            assert got == received[0]
        by_id = {m["id"]: m for m in received[0]}
        for acked in all_acked:
            assert by_id[acked["id"]] == acked
            assert acked["conversation_id"] == cid
            assert acked["client_msg_id"] is None
        # Each sender's own messages are in the order it sent them.
        for tab, acks in zip(tabs, sent, strict=True):
            mine = [m["body"] for m in received[0] if m["id"] in {a["id"] for a in acks}]
            assert mine == [f"{tab.user.name} {i}" for i in range(per_tab)]
            assert {a["sender_id"] for a in acks} == {tab.user.id}
    finally:
        await close_all(tabs)


async def test_retry_with_same_client_msg_id_stores_and_emits_once(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    a1, a2, b1, b2 = await open_tabs(server.url, alice, bob)
    try:
        payload = {"conversation_id": cid, "body": "hello once", "client_msg_id": "c-1"}
        first = await a1.call("message:send", payload)
        retry = await a2.call("message:send", {**payload, "body": "a different body"})
        assert first["ok"] is True
        assert retry == first
        assert first["message"]["client_msg_id"] == "c-1"
        # The same client id from another sender is another message.
        other = await b1.call("message:send", payload)
        assert other["ok"] is True
        assert other["message"]["id"] != first["message"]["id"]
        marker = await a1.call("message:send", {"conversation_id": cid, "body": "marker"})
        for tab in (a1, a2, b1, b2):
            got = await tab.wait("message:new", 3)
            assert [m["id"] for m in got] == [
                first["message"]["id"],
                other["message"]["id"],
                marker["message"]["id"],
            ]
    finally:
        await close_all([a1, a2, b1, b2])


async def test_concurrent_retries_store_one_message(server: ServerProcess, users: Users) -> None:
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    tabs = await open_tabs(server.url, alice, per_user=4)
    watcher = await Tab.open(server.url, bob)
    try:
        payload = {"conversation_id": cid, "body": "race", "client_msg_id": "same"}
        acks = await asyncio.gather(*(t.call("message:send", payload) for t in tabs))
        assert all(a["ok"] for a in acks)
        assert len({a["message"]["id"] for a in acks}) == 1
        marker = await tabs[0].call("message:send", {"conversation_id": cid, "body": "after"})
        got = await watcher.wait("message:new", 2)
        assert [m["id"] for m in got] == [acks[0]["message"]["id"], marker["message"]["id"]]
    finally:
        await close_all([*tabs, watcher])


async def test_typing_reaches_the_rooms_other_sockets_only(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    a1, a2, b1, b2 = await open_tabs(server.url, alice, bob)
    try:
        assert await a1.call("typing", {"conversation_id": cid, "typing": True}) == {"ok": True}
        expected_a = {"conversation_id": cid, "user_id": alice.id, "typing": True}
        for tab in (a2, b1, b2):
            assert await tab.wait("typing", 1) == [expected_a]
        assert await b1.call("typing", {"conversation_id": cid, "typing": False}) == {"ok": True}
        expected_b = {"conversation_id": cid, "user_id": bob.id, "typing": False}
        # a1 gets bob's event and never its own; b1 never gets its own either.
        assert await a1.wait("typing", 1) == [expected_b]
        assert await b2.wait("typing", 2) == [expected_a, expected_b]
        assert await a2.wait("typing", 2) == [expected_a, expected_b]
        assert b1.got("typing") == [expected_a]
    finally:
        await close_all([a1, a2, b1, b2])


async def test_read_receipts_are_stored_broadcast_and_never_move_back(
    server: ServerProcess, users: Users
) -> None:
    import httpx

    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    a1, a2, b1, b2 = await open_tabs(server.url, alice, bob)
    try:
        sent = [
            (await a1.call("message:send", {"conversation_id": cid, "body": f"m{i}"}))["message"]
            for i in range(3)
        ]
        ack = await b1.call("message:read", {"conversation_id": cid, "message_id": sent[1]["id"]})
        assert ack == {"ok": True}
        receipt = {"conversation_id": cid, "user_id": bob.id, "message_id": sent[1]["id"]}
        for tab in (a1, a2, b1, b2):
            assert await tab.wait("message:read", 1) == [receipt]

        async with httpx.AsyncClient(base_url=server.url) as http:
            listed = (await http.get("/api/conversations", headers=bob.bearer)).json()
            assert listed["conversations"][0]["unread_count"] == 1
            # An older receipt is accepted but moves nothing and tells nobody.
            older = {"conversation_id": cid, "message_id": sent[0]["id"]}
            assert await b2.call("message:read", older) == {"ok": True}
            newest = {"conversation_id": cid, "message_id": sent[2]["id"]}
            assert await b2.call("message:read", newest) == {"ok": True}
            last = {"conversation_id": cid, "user_id": bob.id, "message_id": sent[2]["id"]}
            for tab in (a1, a2, b1, b2):
                assert await tab.wait("message:read", 2) == [receipt, last]
            listed = (await http.get("/api/conversations", headers=bob.bearer)).json()
            assert listed["conversations"][0]["unread_count"] == 0
    finally:
        await close_all([a1, a2, b1, b2])


async def test_presence_events_once_per_user_not_per_tab(
    server: ServerProcess, users: Users
) -> None:
    carol, dave = await users(), await users()
    cid = (await create_conversation(server.url, carol, [dave]))["id"]
    watcher = await Tab.open(server.url, carol)
    d1 = d2 = None

    def about_dave() -> list[object]:
        # carol's own first socket may get her own presence; only dave's counts here.
        return [p for p in watcher.got("presence") if p["user_id"] == dave.id]

    async def wait_about_dave(count: int) -> list[object]:
        while len(about_dave()) < count:
            await watcher.wait("presence", len(watcher.got("presence")) + 1)
        return about_dave()

    try:
        d1 = await Tab.open(server.url, dave)
        online = {"user_id": dave.id, "online": True}
        assert await wait_about_dave(1) == [online]
        d2 = await Tab.open(server.url, dave)
        await d2.close()
        # A message from the remaining tab is a marker: a second presence event
        # (for the second tab coming or going) would have been sent before it.
        await d1.call("message:send", {"conversation_id": cid, "body": "still here"})
        await watcher.wait("message:new", 1)
        assert about_dave() == [online]
        await d1.close()
        offline = {"user_id": dave.id, "online": False}
        assert await wait_about_dave(2) == [online, offline]
        ack = await watcher.call("presence:query", {"user_ids": [dave.id, carol.id]})
        assert ack == {"ok": True, "online": {str(dave.id): False, str(carol.id): True}}
        assert about_dave() == [online, offline]
    finally:
        await close_all([t for t in (watcher, d1, d2) if t is not None])


async def test_new_conversation_joins_live_sockets_and_join_resyncs(
    server: ServerProcess, users: Users
) -> None:
    alice, bob = await users(), await users()
    a1, b1 = await open_tabs(server.url, alice, bob, per_user=1)
    try:
        # Both were connected before the conversation existed.
        cid = (await create_conversation(server.url, alice, [bob], title="later"))["id"]
        ack = await a1.call("message:send", {"conversation_id": cid, "body": "no reconnect"})
        assert await b1.wait("message:new", 1) == [ack["message"]]
        assert await b1.call("conversation:join", {"conversation_id": cid}) == {"ok": True}
        ack2 = await a1.call("message:send", {"conversation_id": cid, "body": "still once"})
        assert await b1.wait("message:new", 2) == [ack["message"], ack2["message"]]
    finally:
        await close_all([a1, b1])


async def test_a_later_tab_joins_the_conversations_made_and_left_while_none_was_open(
    server: ServerProcess, users: Users
) -> None:
    """A user's conversations are remembered after a connect (the next tab asks no
    query); a conversation made or left since changes what the next tab joins."""
    alice, bob = await users(), await users()
    for _ in range(2):  # the second connect is answered from memory
        await (await Tab.open(server.url, alice)).close()
    cid = (await create_conversation(server.url, bob, [alice]))["id"]
    bob_tab, alice_tab = await Tab.open(server.url, bob), await Tab.open(server.url, alice)
    try:
        ack = await bob_tab.call("message:send", {"conversation_id": cid, "body": "joined?"})
        assert await alice_tab.wait("message:new", 1) == [ack["message"]]
        await alice_tab.close()
        async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
            assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 204
        alice_tab = await Tab.open(server.url, alice)
        await bob_tab.call("message:send", {"conversation_id": cid, "body": "left"})
        await bob_tab.wait("message:new", 2)
        marker = (await create_conversation(server.url, bob, [alice]))["id"]
        ack = await bob_tab.call("message:send", {"conversation_id": marker, "body": "after"})
        # The later message arrived, the one to the left conversation did not.
        assert await alice_tab.wait("message:new", 1) == [ack["message"]]
    finally:
        await close_all([bob_tab, alice_tab])


async def test_non_member_can_neither_read_nor_write(server: ServerProcess, users: Users) -> None:
    alice, bob, mallory = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    a1, m1 = await open_tabs(server.url, alice, mallory, per_user=1)
    try:
        for event, payload in [
            ("message:send", {"conversation_id": cid, "body": "let me in"}),
            ("typing", {"conversation_id": cid, "typing": True}),
            ("message:read", {"conversation_id": cid, "message_id": "0000000000000001"}),
            ("conversation:join", {"conversation_id": cid}),
        ]:
            ack = await m1.call(event, payload)
            assert ack["ok"] is False
            assert ack["error"]["code"] == "forbidden", (event, ack)
            unknown = await m1.call(event, {**payload, "conversation_id": 2**40})
            assert unknown["error"]["code"] == "not_found", (event, unknown)
        sent = await a1.call("message:send", {"conversation_id": cid, "body": "private"})
        assert sent["ok"] is True
        # mallory's failed join did not put her in the room: a marker in her own
        # conversation arrives, the private message never does.
        own = (await create_conversation(server.url, mallory, []))["id"]
        await m1.call("message:send", {"conversation_id": own, "body": "marker"})
        got = await m1.wait("message:new", 1)
        assert [m["body"] for m in got] == ["marker"]
        assert m1.got("typing") == []
    finally:
        await close_all([a1, m1])
