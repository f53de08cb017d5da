"""Pushing, counting and reading notifications over sockets and HTTP (shared server)."""

from __future__ import annotations

import httpx

from tests.notifications.helpers import (
    NS,
    disconnect_all,
    first,
    listing,
    notify,
    read_over_socket,
    tab,
)
from tests.support.clients import register
from tests.support.node import run_node
from tests.support.server import ServerProcess


async def test_every_tab_of_the_user_receives_and_counts_agree(server: ServerProcess) -> None:
    alice, bob = await register(server.url), await register(server.url)
    tab1, rec1 = await tab(server.url, alice)
    tab2, rec2 = await tab(server.url, alice)
    bob_tab, bob_rec = await tab(server.url, bob)
    try:
        assert first(rec1.of(NS, "notification:unread_count")[0]) == {"count": 0}

        r = await notify(
            server.url, [alice.id], title="Build passed", body="main is green", data={"run": 7}
        )
        assert r.status_code == 202, r.text
        (nid,) = r.json()["ids"]

        for rec in (rec1, rec2):
            (pushed,) = await rec.wait_for(NS, "notification")
            pushed = first(pushed)
            assert pushed["id"] == nid
            assert (pushed["type"], pushed["title"], pushed["body"]) == (
                "test",
                "Build passed",
                "main is green",
            )
            assert pushed["data"] == {"run": 7}
            assert pushed["read_at"] is None
            assert pushed["created_at"].endswith("+00:00")
            counts = await rec.wait_for(NS, "notification:unread_count", 2)
            assert first(counts[-1]) == {"count": 1}

        # Bob's own notification arrives after Alice's was pushed: had Alice's leaked, he would hold it first.
        r = await notify(server.url, [bob.id], title="For Bob")
        (bob_nid,) = r.json()["ids"]
        (only,) = await bob_rec.wait_for(NS, "notification")
        assert first(only)["id"] == bob_nid

        page = await listing(server.url, alice)
        assert page["unread_count"] == 1
        assert [n["id"] for n in page["notifications"]] == [nid]
        assert page["notifications"][0] == first(rec1.of(NS, "notification")[0])
    finally:
        await disconnect_all(tab1, tab2, bob_tab)


async def test_read_over_socket_updates_the_other_tabs_and_http(server: ServerProcess) -> None:
    alice = await register(server.url)
    ids = (await notify(server.url, [alice.id], title="one")).json()["ids"] + (
        await notify(server.url, [alice.id], title="two")
    ).json()["ids"]
    tab1, rec1 = await tab(server.url, alice)
    tab2, rec2 = await tab(server.url, alice)
    try:
        assert first(rec1.of(NS, "notification:unread_count")[-1]) == {"count": 2}

        ack = await read_over_socket(tab1, ids[0])
        assert ack == {"ok": True, "unread_count": 1}
        counts = await rec2.wait_for(NS, "notification:unread_count", 2)
        assert first(counts[-1]) == {"count": 1}
        # The reading tab gets its count in the ack, not as an event too (an event for it
        # would have been queued before the ack).
        assert len(rec1.of(NS, "notification:unread_count")) == 1

        # Reading it again is harmless and changes nothing.
        assert await read_over_socket(tab2, ids[0]) == {"ok": True, "unread_count": 1}

        page = await listing(server.url, alice)
        assert page["unread_count"] == 1
        by_id = {n["id"]: n for n in page["notifications"]}
        assert by_id[ids[0]]["read_at"] is not None
        assert by_id[ids[1]]["read_at"] is None
        unread = await listing(server.url, alice, unread_only="true")
        assert [n["id"] for n in unread["notifications"]] == [ids[1]]

    finally:
        await disconnect_all(tab1, tab2)


async def test_nobody_reads_another_users_notification(server: ServerProcess) -> None:
    alice, mallory = await register(server.url), await register(server.url)
    (nid,) = (await notify(server.url, [alice.id], title="private")).json()["ids"]
    sock, _ = await tab(server.url, mallory)
    try:
        for bad in (nid, "0000000000000000", "not-an-id", "9" * 30):
            ack = await read_over_socket(sock, bad)
            assert ack["ok"] is False, (bad, ack)
            assert ack["error"]["code"] == "not_found", (bad, ack)
        for bad_payload in ({"id": 5}, {}, "x", None, {"id": "x" * 100}):
            ack = await sock.call("notification:read", bad_payload, namespace=NS, timeout=5)
            assert ack["ok"] is False, (bad_payload, ack)
            assert ack["error"]["code"] == "invalid_payload", (bad_payload, ack)
        # The socket still works after bad input.
        assert await read_over_socket(sock, nid) == {
            "ok": False,
            "error": {"code": "not_found", "message": "notification not found"},
        }
    finally:
        await sock.disconnect()

    async with httpx.AsyncClient(base_url=server.url, headers=mallory.bearer) as http:
        assert (await http.post(f"/api/notifications/{nid}/read")).status_code == 404
        assert (await http.post("/api/notifications/read-all")).json() == {"unread_count": 0}
    page = await listing(server.url, alice)
    assert page["unread_count"] == 1
    assert page["notifications"][0]["read_at"] is None
    assert (await listing(server.url, mallory))["notifications"] == []


async def test_http_read_and_read_all_push_the_count_to_every_socket(server: ServerProcess) -> None:
    alice = await register(server.url)
    ids = [(await notify(server.url, [alice.id], title=f"n{i}")).json()["ids"][0] for i in range(3)]
    sock, rec = await tab(server.url, alice)
    try:
        async with httpx.AsyncClient(
            base_url=server.url, cookies={"auth_token": alice.token}
        ) as http:
            r = await http.post(f"/api/notifications/{ids[1]}/read")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["unread_count"] == 2
            assert body["notification"]["id"] == ids[1]
            assert body["notification"]["read_at"]
            counts = await rec.wait_for(NS, "notification:unread_count", 2)
            assert first(counts[-1]) == {"count": 2}

            r = await http.post("/api/notifications/read-all")
            assert r.json() == {"unread_count": 0}
            counts = await rec.wait_for(NS, "notification:unread_count", 3)
            assert first(counts[-1]) == {"count": 0}

            assert (await http.get("/api/notifications")).json()["unread_count"] == 0
            assert (await http.get("/api/notifications", params={"unread_only": "true"})).json()[
                "notifications"
            ] == []
    finally:
        await sock.disconnect()


async def test_list_is_newest_first_with_limit_and_paging(server: ServerProcess) -> None:
    alice = await register(server.url)
    ids = (await notify(server.url, [alice.id], title="a")).json()["ids"]
    for title in ("b", "c", "d"):
        ids += (await notify(server.url, [alice.id], title=title)).json()["ids"]
    page = await listing(server.url, alice, limit=2)
    assert [n["title"] for n in page["notifications"]] == ["d", "c"]
    assert page["unread_count"] == 4
    older = await listing(server.url, alice, limit=2, before=page["notifications"][-1]["id"])
    assert [n["id"] for n in older["notifications"]] == [ids[1], ids[0]]

    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"before": "abc"}):
            assert (await http.get("/api/notifications", params=params)).status_code == 422, params
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        assert (await anonymous.get("/api/notifications")).status_code == 401
        assert (await anonymous.post(f"/api/notifications/{ids[0]}/read")).status_code == 401
        assert (await anonymous.post("/api/notifications/read-all")).status_code == 401


async def test_npm_client_gets_count_on_connect_a_push_and_a_read_ack(
    server: ServerProcess,
) -> None:
    alice = await register(server.url)
    (old,) = (await notify(server.url, [alice.id], title="earlier")).json()["ids"]
    result = await run_node(
        f"""
        const socket = io("{server.url}/notifications", {{ transports: ["websocket"], reconnection: false, auth: {{ token: "{alice.token}" }} }});
        const initial = await once(socket, "notification:unread_count");
        const pushed = once(socket, "notification");
        const res = await fetch("{server.url}/api/internal/notifications", {{
          method: "POST",
          headers: {{ "content-type": "application/json", authorization: "Bearer test-api-key" }},
          body: JSON.stringify({{ user_ids: [{alice.id}], type: "mention", title: "You were mentioned" }}),
        }});
        const [notification] = await pushed;
        const readAck = await ack(socket, "notification:read", {{ id: "{old}" }});
        socket.close();
        done({{ initial: initial[0], status: res.status, notification, readAck }});
        """
    )
    assert result["initial"] == {"count": 1}
    assert result["status"] == 202
    assert result["notification"]["title"] == "You were mentioned"
    assert result["notification"]["type"] == "mention"
    assert result["readAck"] == {"ok": True, "unread_count": 1}


async def test_a_later_tab_gets_the_count_that_changed_while_none_was_open(
    server: ServerProcess,
) -> None:
    """A user's count is remembered after a connect (the next tab asks no query), and
    forgotten by every change: with no tab open, the change reaches no socket here."""
    alice = await register(server.url)

    async def count_on_connect() -> object:
        sock, rec = await tab(server.url, alice)
        await sock.disconnect()
        return first(rec.of(NS, "notification:unread_count")[0])

    assert await count_on_connect() == {"count": 0}
    assert await count_on_connect() == {"count": 0}  # from memory
    first_two = [await notify(server.url, [alice.id], title=f"n{i}") for i in range(2)]
    assert await count_on_connect() == {"count": 2}
    nid = first_two[0].json()["ids"][0]
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        assert (await http.post(f"/api/notifications/{nid}/read")).json()["unread_count"] == 1
    assert await count_on_connect() == {"count": 1}
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        assert (await http.post("/api/notifications/read-all")).json() == {"unread_count": 0}
    assert await count_on_connect() == {"count": 0}
