"""SPEC extensions used by the web page: client config, read marks, search, rename, leave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from tests.chat.helpers import Tab, close_all, create_conversation, http_send
from tests.support.clients import Account
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]


async def test_config_is_public_and_matches_the_setting(
    server_factory: Callable[..., ServerProcess],
) -> None:
    srv = server_factory(env={"SWITCHBOARD_MAX_MESSAGE_CHARS": "321"})
    async with httpx.AsyncClient(base_url=srv.url) as anon:
        r = await anon.get("/api/config")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "chat": {"max_message_chars": 321, "max_title_chars": 200, "max_members": 10_000}
    }


async def test_read_marks_follow_message_read(server: ServerProcess, users: Users) -> None:
    alice, bob, eve = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    first = (await http_send(server.url, alice, cid, "one")).json()["message"]
    await http_send(server.url, alice, cid, "two")
    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        r = await http.get(f"/api/conversations/{cid}/reads")
        assert r.status_code == 200
        assert r.json() == {
            "reads": sorted(
                [
                    {"user_id": alice.id, "message_id": None},
                    {"user_id": bob.id, "message_id": None},
                ],
                key=lambda m: int(str(m["user_id"])),
            )
        }
    tab = await Tab.open(server.url, bob)
    try:
        ack = await tab.call("message:read", {"conversation_id": cid, "message_id": first["id"]})
        assert ack == {"ok": True}
    finally:
        await tab.close()
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        reads = (await http.get(f"/api/conversations/{cid}/reads")).json()["reads"]
        assert {r["user_id"]: r["message_id"] for r in reads} == {
            alice.id: None,
            bob.id: first["id"],
        }
    async with httpx.AsyncClient(base_url=server.url, headers=eve.bearer) as http:
        assert (await http.get(f"/api/conversations/{cid}/reads")).status_code == 403
        assert (await http.get("/api/conversations/999999999/reads")).status_code == 404
    async with httpx.AsyncClient(base_url=server.url) as anon:
        assert (await anon.get(f"/api/conversations/{cid}/reads")).status_code == 401


async def test_search_is_per_conversation_case_insensitive_and_paged(
    server: ServerProcess, users: Users
) -> None:
    alice, bob, eve = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    other = (await create_conversation(server.url, alice, [eve]))["id"]
    for body in ["Lunch at noon?", "no", "LUNCH moved", "100% sure", "under_score", "lunch!"]:
        assert (await http_send(server.url, alice, cid, body)).status_code == 201
    assert (await http_send(server.url, alice, other, "lunch elsewhere")).status_code == 201
    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        url = f"/api/conversations/{cid}/search"
        found = (await http.get(url, params={"q": "lunch"})).json()["messages"]
        assert [m["body"] for m in found] == ["lunch!", "LUNCH moved", "Lunch at noon?"]
        page1 = (await http.get(url, params={"q": "lunch", "limit": 2})).json()["messages"]
        page2 = (
            await http.get(url, params={"q": "lunch", "limit": 2, "before": page1[-1]["id"]})
        ).json()["messages"]
        assert [m["body"] for m in page1 + page2] == [m["body"] for m in found]
        # LIKE wildcards in the query are plain characters.
        assert [m["body"] for m in (await http.get(url, params={"q": "%"})).json()["messages"]] == [
            "100% sure"
        ]
        assert [m["body"] for m in (await http.get(url, params={"q": "_"})).json()["messages"]] == [
            "under_score"
        ]
        for bad in [
            {},
            {"q": ""},
            {"q": "   "},
            {"q": "x" * 201},
            {"q": "a\x00b"},
            {"q": "a", "before": "zz"},
        ]:
            r = await http.get(url, params=bad)
            assert r.status_code == 422, (bad, r.text)
    async with httpx.AsyncClient(base_url=server.url, headers=eve.bearer) as http:
        r = await http.get(f"/api/conversations/{cid}/search", params={"q": "lunch"})
        assert r.status_code == 403
        r = await http.get("/api/conversations/999999999/search", params={"q": "lunch"})
        assert r.status_code == 404


async def test_rename_emits_conversation_updated(server: ServerProcess, users: Users) -> None:
    alice, bob, eve = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob, eve]))["id"]
    tab = await Tab.open(server.url, bob)
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
            r = await http.patch(f"/api/conversations/{cid}", json={"title": "  Team lunch "})
            assert r.status_code == 200, r.text
            conv = r.json()["conversation"]
            assert conv["title"] == "Team lunch"
            assert conv["member_ids"] == sorted([alice.id, bob.id, eve.id])
            await tab.rec.wait_for("/chat", "conversation:updated", 1, timeout=10)
            (event,) = [
                e[0] if isinstance(e, list) else e
                for e in tab.rec.of("/chat", "conversation:updated")
            ]
            assert event == conv
            listed = (await http.get("/api/conversations")).json()["conversations"]
            assert [c["title"] for c in listed if c["id"] == cid] == ["Team lunch"]
            cleared = await http.patch(f"/api/conversations/{cid}", json={"title": None})
            assert cleared.json()["conversation"]["title"] is None
            for bad in [{}, {"title": 7}, {"title": "x" * 201}]:
                r = await http.patch(f"/api/conversations/{cid}", json=bad)
                assert r.status_code == 422, (bad, r.text)
            assert (
                await http.patch("/api/conversations/999999999", json={"title": "x"})
            ).status_code == 404
    finally:
        await tab.close()
    stranger = await users()
    async with httpx.AsyncClient(base_url=server.url, headers=stranger.bearer) as http:
        r = await http.patch(f"/api/conversations/{cid}", json={"title": "mine now"})
        assert r.status_code == 403


async def test_a_member_who_sent_then_left_is_refused_at_once(
    server: ServerProcess, users: Users
) -> None:
    """A sender is remembered as a member (chat/membership.py); leaving forgets it."""
    alice, bob = await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob]))["id"]
    bob_tab = await Tab.open(server.url, bob)
    try:
        for body in ("one", "two"):
            sent = await bob_tab.call("message:send", {"conversation_id": cid, "body": body})
            assert sent["ok"] is True, sent
        async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
            assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 204
            r = await http.post(f"/api/conversations/{cid}/messages", json={"body": "http?"})
            assert r.status_code == 403, r.text
        refused = await bob_tab.call("message:send", {"conversation_id": cid, "body": "back?"})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "forbidden"
    finally:
        await close_all([bob_tab])


async def test_leave_removes_the_member_and_stops_delivery(
    server: ServerProcess, users: Users
) -> None:
    alice, bob, eve = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob, eve]))["id"]
    tabs = [await Tab.open(server.url, u) for u in (alice, bob)]
    alice_tab, bob_tab = tabs
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
            r = await http.post(f"/api/conversations/{cid}/leave")
            assert r.status_code == 204, r.text
            assert [
                c["id"] for c in (await http.get("/api/conversations")).json()["conversations"]
            ] == []
            assert (await http.get(f"/api/conversations/{cid}/messages")).status_code == 403
            assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 403
        for tab in tabs:
            (event,) = await tab.wait("conversation:updated", 1)
            assert event["id"] == cid
            assert event["member_ids"] == sorted([alice.id, eve.id])
        await http_send(server.url, alice, cid, "after bob left")
        await alice_tab.wait("message:new", 1)
        # Bob's socket was taken out of the room: it gets nothing more from it.
        await http_send(server.url, alice, cid, "second")
        await alice_tab.wait("message:new", 2)
        assert bob_tab.got("message:new") == []
        refused = await bob_tab.call("message:send", {"conversation_id": cid, "body": "back?"})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "forbidden"
    finally:
        await close_all(tabs)
    async with httpx.AsyncClient(base_url=server.url, headers=bob.bearer) as http:
        assert (await http.post("/api/conversations/999999999/leave")).status_code == 404
