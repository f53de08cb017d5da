"""What a node remembers for connects (a user's conversations and unread count) is
corrected by the log when another node changes it.

Each test makes node B remember Alice (a tab connects and closes), changes her
state through node A while she has no socket anywhere, waits until B has read
past the change (Carol's socket on B gets a later event), then opens Alice's
next tab on B. Without the log's correction B would answer from stale memory.
"""

from __future__ import annotations

import pytest

from tests.chat.helpers import Tab, close_all, create_conversation
from tests.cluster.conftest import Nodes
from tests.notifications.helpers import NS, first, notify, tab
from tests.support.clients import register

pytestmark = pytest.mark.cluster


async def test_a_conversation_made_on_another_node_is_joined_by_the_next_tab(
    nodes: Nodes,
) -> None:
    a, b = nodes(2)
    alice, bob, carol = await register(a.url), await register(a.url), await register(a.url)
    for _ in range(2):  # B remembers that Alice is in no conversation
        await (await Tab.open(b.url, alice)).close()
    carol_tab = await Tab.open(b.url, carol)
    bob_tab = await Tab.open(a.url, bob)
    alice_tab: Tab | None = None
    try:
        cid = (await create_conversation(a.url, bob, [alice, carol]))["id"]
        sent = await bob_tab.call("message:send", {"conversation_id": cid, "body": "first"})
        assert sent["ok"] is True, sent
        await carol_tab.wait("message:new", 1)  # B has applied the join entries
        alice_tab = await Tab.open(b.url, alice)
        again = await bob_tab.call("message:send", {"conversation_id": cid, "body": "second"})
        assert again["ok"] is True, again
        assert await alice_tab.wait("message:new", 1) == [again["message"]]
    finally:
        await close_all([t for t in (carol_tab, bob_tab, alice_tab) if t is not None])


async def test_a_count_changed_on_another_node_reaches_the_next_tab(nodes: Nodes) -> None:
    a, b = nodes(2)
    alice, carol = await register(a.url), await register(a.url)

    async def count_on_b() -> object:
        sock, rec = await tab(b.url, alice)
        await sock.disconnect()
        return first(rec.of(NS, "notification:unread_count")[0])

    assert await count_on_b() == {"count": 0}
    assert await count_on_b() == {"count": 0}  # from B's memory
    carol_sock, carol_rec = await tab(b.url, carol)
    try:
        assert (await notify(a.url, [alice.id], title="for Alice")).status_code == 202
        assert (await notify(a.url, [carol.id], title="marker")).status_code == 202
        await carol_rec.wait_for(NS, "notification")  # B has read past Alice's count
        assert await count_on_b() == {"count": 1}
    finally:
        await carol_sock.disconnect()
