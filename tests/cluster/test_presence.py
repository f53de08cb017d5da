"""Cluster presence on real nodes: every node agrees, a killed node's users go offline once."""

from __future__ import annotations

import httpx
import pytest

from tests.cluster.conftest import Nodes, eventually, online_on
from tests.support.clients import connect, register

pytestmark = pytest.mark.cluster


async def test_presence_agrees_on_every_node(nodes: Nodes) -> None:
    n1, n2 = nodes(2)
    ada, bob = await register(n1.url), await register(n1.url)
    ada_sock, _ = await connect(n1.url, ada)
    bob_sock, _ = await connect(n2.url, bob)
    ids = [ada.id, bob.id]
    try:
        for node in (n1, n2):
            assert await online_on(node, ada.token, ids) == {str(ada.id): True, str(bob.id): True}
        # A second socket elsewhere keeps Bob online when the first one leaves.
        bob_again, _ = await connect(n1.url, bob, namespaces=("/notifications",))
        await bob_sock.disconnect()
        for node in (n1, n2):
            assert (await online_on(node, ada.token, ids))[str(bob.id)] is True
        await bob_again.disconnect()

        async def bob_offline_everywhere() -> bool:
            views = [await online_on(node, ada.token, ids) for node in (n1, n2)]
            return not any(view[str(bob.id)] for view in views)

        await eventually(bob_offline_everywhere, timeout=5)
    finally:
        await ada_sock.disconnect()
        await bob_sock.disconnect()


async def test_sigkilled_node_users_go_offline_everywhere_once(nodes: Nodes) -> None:
    n1, n2 = nodes(2)
    ada, bob = await register(n1.url), await register(n1.url)
    async with httpx.AsyncClient(base_url=n1.url) as http:
        r = await http.post("/api/conversations", json={"member_ids": [bob.id]}, headers=ada.bearer)
        assert r.status_code == 201
    ada_sock, ada_rec = await connect(n1.url, ada, events={"/chat": ["presence"]})
    bob_sock, _ = await connect(n2.url, bob)
    try:
        bob_online = {"user_id": bob.id, "online": True}

        async def bob_came_online() -> bool:
            # Ada's own first socket may be told of her coming online too: look for Bob's.
            return bob_online in ada_rec.of("/chat", "presence")

        await eventually(bob_came_online, timeout=10)
        n2.kill()

        async def bob_offline() -> bool:
            return not (await online_on(n1, ada.token, [bob.id]))[str(bob.id)]

        await eventually(bob_offline, timeout=30)

        async def told_bob_offline() -> bool:
            return {"user_id": bob.id, "online": False} in ada_rec.of("/chat", "presence")

        await eventually(told_bob_offline, timeout=5)
        # One more heartbeat period: nobody announces it a second time.
        await eventually(bob_offline, timeout=3)
        offline = [e for e in ada_rec.of("/chat", "presence") if e["online"] is False]
        assert offline == [{"user_id": bob.id, "online": False}]
        assert (await online_on(n1, ada.token, [ada.id]))[str(ada.id)] is True
    finally:
        await ada_sock.disconnect()
        await bob_sock.disconnect()
