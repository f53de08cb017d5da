"""Abuse limits hold across nodes (Redis): a login lockout and the per-user message budget."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.chat.helpers import Tab, create_conversation, http_send
from tests.cluster.conftest import Nodes
from tests.security.test_abuse_limits import assert_rate_limited
from tests.support.clients import register

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
