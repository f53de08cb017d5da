"""Each example app, run from its README command: the host stays itself, Switchboard works.

What would break: the host's routes, middleware, errors or lifespan state
being touched by the mount; Switchboard's API not under the prefix; the
socket not accepting the host's own JWT; an emit from a host route not
reaching the user's socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from switchboard import Notifier
from switchboard.client import SwitchboardClient
from tests.embed.conftest import StartExample
from tests.support.clients import Account, connect

EXAMPLES = ["fastapi_app", "starlette_app", "django_app"]
API_KEY = "test-api-key"  # tests/support/server.py sets it


async def login(http: httpx.AsyncClient, username: str) -> Account:
    """Sign in at the host; Switchboard's id for the user comes from its own API."""
    r = await http.post("/login", json={"username": username})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert r.cookies["auth_token"] == token
    me = await http.get("/switchboard/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    user = me.json()["user"]
    assert user["external_id"] == username  # host mode: the host's id, mapped
    return Account(id=user["id"], email="", name=user["name"], token=token)


@pytest.mark.parametrize("example", EXAMPLES)
async def test_host_routes_middleware_and_errors_stay_the_hosts(
    start_example: StartExample, example: str
) -> None:
    server = start_example(example)
    async with httpx.AsyncClient(base_url=server.url) as http:
        home = await http.get("/")
        assert home.status_code == 200
        assert home.json()["app"] == "shop"
        # Switchboard started before the host's startup ran (and the host's
        # lifespan state reached its request, where the framework has one).
        assert home.json()["switchboard_ready"] is True
        assert home.headers["x-served-by"] == "shop"

        missing = await http.get("/no-such-page")
        assert missing.status_code == 404
        assert missing.headers["x-served-by"] == "shop"  # the host's 404, not Switchboard's
        assert "x-request-id" not in missing.headers

        alice = await login(http, "alice")
        http.cookies.set("auth_token", alice.token)
        refused = await http.post("/orders", json={"item": "unobtainium"})
        assert refused.status_code == 409
        assert refused.json() == {"error": "out_of_stock", "item": "unobtainium"}
        assert refused.headers["x-served-by"] == "shop"
        invalid = await http.post("/orders", json={"item": "x" * 1000})
        assert invalid.status_code in (400, 422)  # the host's own validation
        assert invalid.headers["x-served-by"] == "shop"

        if example == "django_app":
            broken = await http.get("/boom")
            assert broken.status_code == 500
            assert "Server Error (500)" in broken.text  # Django's page


@pytest.mark.parametrize("example", EXAMPLES)
async def test_switchboard_api_health_and_a_socket_with_the_hosts_token(
    start_example: StartExample, example: str
) -> None:
    server = start_example(example)
    async with httpx.AsyncClient(base_url=server.url) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert "x-served-by" not in health.headers
        assert (await http.get("/metrics")).status_code == 200

        alice = await login(http, "alice")
        bob = await login(http, "bob")
        assert alice.name == "Alice"  # from the host token's `name` claim
        # Switchboard's routes live under the prefix only, and in host mode
        # its own sign-in does not exist: the host signs users in.
        assert (await http.get("/api/auth/me", headers=alice.bearer)).status_code == 404
        login_route = await http.post("/switchboard/api/auth/login", json={})
        assert login_route.status_code == 404

        client, rec = await connect(
            server.url,
            alice,
            events={"/notifications": ["order:created", "notification"]},
        )
        watcher, bob_rec = await connect(
            server.url, bob, events={"/notifications": ["order:created"]}
        )
        try:
            assert set(client.namespaces) == {"/chat", "/notifications"}
            placed = await http.post(
                "/orders", json={"item": "tea"}, cookies={"auth_token": alice.token}
            )
            assert placed.status_code == 201, placed.text
            order = placed.json()
            events = await rec.wait_for("/notifications", "order:created")
            assert events == [order]
            (pushed,) = await rec.wait_for("/notifications", "notification")
            assert pushed["title"] == f"Order {order['id']} placed"
            assert bob_rec.of("/notifications", "order:created") == []
        finally:
            await client.disconnect()
            await watcher.disconnect()

        stored = await http.get("/switchboard/api/notifications", headers=alice.bearer)
        assert stored.status_code == 200
        assert stored.json()["unread_count"] == 1


async def test_the_python_client_takes_the_prefix_as_its_base_url(
    start_example: StartExample,
) -> None:
    """`SwitchboardClient(f"{url}/switchboard", token=...)`: the API under the prefix,
    and Socket.IO at {prefix}/socket.io/, which the mount serves too (docs/embedding.md)."""
    server = start_example("fastapi_app")
    async with httpx.AsyncClient(base_url=server.url) as http:
        alice = await login(http, "alice")
        orders: asyncio.Queue[Any] = asyncio.Queue()
        async with SwitchboardClient(server.url + "/switchboard", token=alice.token) as sb:
            sb.on("order:created", orders.put_nowait, namespace="/notifications")
            assert sb.user is not None
            assert sb.user.id == alice.id
            placed = await http.post(
                "/orders", json={"item": "tea"}, cookies={"auth_token": alice.token}
            )
            assert await asyncio.wait_for(orders.get(), 5) == placed.json()
            page = await sb.list_notifications()
            assert page.unread_count == 1


async def test_another_service_maps_host_ids_and_notifies_under_the_prefix(
    start_example: StartExample,
) -> None:
    server = start_example("fastapi_app")
    async with httpx.AsyncClient(base_url=server.url) as http:
        alice = await login(http, "alice")
    client, rec = await connect(server.url, alice, events={"/notifications": ["notification"]})
    try:
        async with Notifier(server.url + "/switchboard", API_KEY) as notifier:
            ids = await notifier.resolve_users(["alice", "carol"])
            assert ids["alice"] == alice.id
            assert ids["carol"] not in (alice.id, None)  # not seen yet: created now
            out = await notifier.notify([ids["alice"]], "Your parcel shipped")
        (pushed,) = await rec.wait_for("/notifications", "notification")
        assert pushed["id"] == out.ids[0]
        assert pushed["title"] == "Your parcel shipped"
    finally:
        await client.disconnect()
