"""A revoked token ends the live sockets that use it, on every node (issue 12, item 3).

Alice has two sessions (two logins), each with a socket on another node. Logging
out one session on node A sends `auth:expired {code: invalid_token}` to that
session's socket on node B and disconnects it; the other session's socket
stays. `logout-all` then ends the other one too.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.cluster.conftest import Nodes
from tests.cluster.test_revocation_cluster import _login
from tests.security.helpers import bearer
from tests.support.clients import Account, connect, register

pytestmark = pytest.mark.cluster


async def _gone(client: object) -> bool:
    for _ in range(100):
        if not client.namespaces:  # type: ignore[attr-defined]
            return True
        await asyncio.sleep(0.05)
    return False


async def test_logout_ends_that_sessions_sockets_on_every_node(nodes: Nodes) -> None:
    a, b = nodes(2, SWITCHBOARD_AUTH_SYNC_SECONDS="30")
    alice = await register(a.url)
    other = Account(
        alice.id, alice.email, alice.name, await _login(a.url, alice.email, alice.password)
    )
    events = {"/chat": ["auth:expired"], "/notifications": ["auth:expired"]}
    doomed, doomed_rec = await connect(b.url, alice, events=events)
    kept, kept_rec = await connect(b.url, other, events=events)
    try:
        async with httpx.AsyncClient(base_url=a.url) as http:
            r = await http.post("/api/auth/logout", headers=bearer(alice.token))
            assert r.status_code == 204
        got = await doomed_rec.wait_for("/chat", "auth:expired", timeout=5)
        assert got[-1] == {"code": "invalid_token"}
        await doomed_rec.wait_for("/notifications", "auth:expired", timeout=5)
        assert await _gone(doomed)
        await asyncio.sleep(0.5)
        assert kept_rec.of("/chat", "auth:expired") == []
        ok = await kept.call("presence:query", {"user_ids": [alice.id]}, namespace="/chat")
        assert ok["ok"] is True

        async with httpx.AsyncClient(base_url=b.url) as http:
            r = await http.post("/api/auth/logout-all", headers=bearer(other.token))
            assert r.status_code == 204
        await kept_rec.wait_for("/chat", "auth:expired", timeout=5)
        assert await _gone(kept)
    finally:
        await doomed.disconnect()
        await kept.disconnect()
