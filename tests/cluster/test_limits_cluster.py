"""Abuse limits hold across nodes (Redis): a login lockout and the per-user message budget."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.chat.helpers import Tab, create_conversation, http_send
from tests.cluster.conftest import Nodes
from tests.security.helpers import bearer
from tests.security.test_abuse_limits import assert_rate_limited
from tests.support.clients import register
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster

ACCOUNT_LIMIT = 4
MESSAGE_RATE = 1.0  # per second; burst 2


async def test_limits_are_shared_by_every_node(nodes: Nodes) -> None:
    a, b = nodes(
        2,
        SWITCHBOARD_LOGIN_ACCOUNT_LIMIT=str(ACCOUNT_LIMIT),
        SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS="600",
        SWITCHBOARD_USER_MESSAGE_RATE=str(MESSAGE_RATE),
    )
    user, other = await register(a.url), await register(a.url)
    bad = {"email": user.email, "password": "wrong-password"}
    for i in range(ACCOUNT_LIMIT):
        node = (a, b)[i % 2]
        async with httpx.AsyncClient(base_url=node.url) as http:
            assert (await http.post("/api/auth/login", json=bad)).status_code == 401
    for node in (a, b):
        async with httpx.AsyncClient(base_url=node.url) as http:
            good = {"email": user.email, "password": user.password}
            assert_rate_limited(await http.post("/api/auth/login", json=good))

    cid = (await create_conversation(a.url, user, [other]))["id"]
    tabs = [await Tab.open(a.url, user), await Tab.open(b.url, user)]
    try:
        sent = 0
        started = time.monotonic()
        for i in range(6):
            for tab in tabs:
                ack = await tab.call("message:send", {"conversation_id": cid, "body": f"t{i}"})
                sent += 1 if ack["ok"] else 0
                if not ack["ok"]:
                    assert ack["error"]["code"] == "rate_limited"
            for node in (a, b):
                r = await http_send(node.url, user, cid, f"h{i}")
                sent += 1 if r.status_code == 201 else 0
        elapsed = time.monotonic() - started
        # One budget for both nodes: burst 2 plus the refill (+1 for clock reads).
        assert sent <= 2 + MESSAGE_RATE * elapsed + 1, (sent, elapsed)
        assert sent >= 2
    finally:
        for tab in tabs:
            await tab.close()


async def test_redis_outage_leaves_login_logout_and_limits_working(
    nodes: Nodes, redis_server: RedisProcess
) -> None:
    (node,) = nodes(
        1,
        SWITCHBOARD_LOGIN_ACCOUNT_LIMIT=str(ACCOUNT_LIMIT),
        SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS="600",
    )
    user = await register(node.url)
    redis_server.stop()
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as http:
        good = {"email": user.email, "password": user.password}
        r = await http.post("/api/auth/login", json=good)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        # Logout is stored in the database even though it cannot be published.
        assert (await http.post("/api/auth/logout", headers=bearer(token))).status_code == 204
        assert (await http.get("/api/auth/me", headers=bearer(token))).status_code == 401
        # The node counts failures in its own memory meanwhile.
        bad = {"email": user.email, "password": "wrong-password"}
        for _ in range(ACCOUNT_LIMIT):
            assert (await http.post("/api/auth/login", json=bad)).status_code == 401
        assert_rate_limited(await http.post("/api/auth/login", json=good))
    assert "rate limits fall back to this node's memory" in node.log()
