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
