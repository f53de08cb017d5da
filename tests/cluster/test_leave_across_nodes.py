"""Leaving a conversation takes the leaver's sockets out of its room on every node."""

from __future__ import annotations

import httpx
import pytest

from tests.chat.helpers import Tab, close_all, create_conversation, http_send
from tests.cluster.conftest import Nodes
from tests.support.clients import register

pytestmark = pytest.mark.cluster


async def test_a_leave_on_one_node_stops_delivery_to_sockets_on_another(nodes: Nodes) -> None:
    a, b = nodes(2)
    alice, bob = await register(a.url), await register(a.url)
    cid = (await create_conversation(a.url, alice, [bob]))["id"]
    alice_tab = await Tab.open(a.url, alice)
    bob_tab = await Tab.open(b.url, bob)
    try:
        await http_send(a.url, alice, cid, "before")
        await bob_tab.wait("message:new", 1)
        async with httpx.AsyncClient(base_url=a.url, headers=bob.bearer) as http:
            assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 204
        await bob_tab.wait("conversation:updated", 1)
        await http_send(a.url, alice, cid, "after")
        await alice_tab.wait("message:new", 2)
        await http_send(a.url, alice, cid, "and again")
        await alice_tab.wait("message:new", 3)
        assert [m["body"] for m in bob_tab.got("message:new")] == ["before"]
    finally:
        await close_all([alice_tab, bob_tab])


async def test_a_sender_who_left_on_another_node_is_refused_there(nodes: Nodes) -> None:
    """Node B remembers that Bob is a member (he sent there); he leaves through node A.

    Once B has read past the leave in the log (Carol's socket on B sees a
    later message), B refuses Bob's next send: its memory of the membership
    (chat/membership.py) was corrected through the log, not by a query.
    """
    a, b = nodes(2)
    alice, bob, carol = await register(a.url), await register(a.url), await register(a.url)
    cid = (await create_conversation(a.url, alice, [bob, carol]))["id"]
    bob_tab = await Tab.open(b.url, bob)
    carol_tab = await Tab.open(b.url, carol)
    try:
        sent = await bob_tab.call("message:send", {"conversation_id": cid, "body": "hi"})
        assert sent["ok"] is True, sent
        await carol_tab.wait("message:new", 1)
        async with httpx.AsyncClient(base_url=a.url, headers=bob.bearer) as http:
            assert (await http.post(f"/api/conversations/{cid}/leave")).status_code == 204
        await http_send(a.url, alice, cid, "after the leave")
        await carol_tab.wait("message:new", 2)
        refused = await bob_tab.call("message:send", {"conversation_id": cid, "body": "back?"})
        assert refused["ok"] is False
        assert refused["error"]["code"] == "forbidden"
    finally:
        await close_all([bob_tab, carol_tab])
