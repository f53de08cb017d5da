"""Presence with several tabs, and the emit facade used from an HTTP route."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from switchboard import RealtimeNotStartedError, create_app, load_settings
from switchboard.api.deps import Ctx, CurrentUserId
from tests.support.clients import connect, register
from tests.support.inprocess import serving
from tests.support.server import ServerProcess


async def _online(server: ServerProcess, token: str, *ids: int) -> dict[str, bool]:
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        r = await http.get("/api/presence", params={"user_ids": ",".join(map(str, ids))})
        r.raise_for_status()
        online: dict[str, bool] = r.json()["online"]
        return online


async def _eventually(check, expected, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value == expected or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def test_user_with_two_tabs_stays_online_until_both_close(server: ServerProcess) -> None:
    watcher = await register(server.url)
    user = await register(server.url)
    tab1, _ = await connect(server.url, user, namespaces=("/chat",))
    tab2, _ = await connect(server.url, user, namespaces=("/notifications",))
    key = str(user.id)
    try:
        assert (await _online(server, watcher.token, user.id, watcher.id)) == {
            key: True,
            str(watcher.id): False,
        }
        await tab1.disconnect()
        assert await _eventually(
            lambda: _online(server, watcher.token, user.id), {key: True}, 1.0
        ) == {key: True}
        await tab2.disconnect()
        assert await _eventually(lambda: _online(server, watcher.token, user.id), {key: False}) == {
            key: False
        }
    finally:
        await tab1.disconnect()
        await tab2.disconnect()


async def test_presence_query_ack_and_bad_payloads(server: ServerProcess) -> None:
    user = await register(server.url)
    client, _ = await connect(server.url, user, namespaces=("/chat",))
    try:
        ack = await client.call(
            "presence:query", {"user_ids": [user.id, 999999]}, namespace="/chat", timeout=5
        )
        assert ack == {"ok": True, "online": {str(user.id): True, "999999": False}}
        for bad in (
            "x",
            5,
            [1],
            None,
            {},
            {"user_ids": "1"},
            {"user_ids": ["1"]},
            {"user_ids": [1.5]},
        ):
            ack = await client.call("presence:query", bad, namespace="/chat", timeout=5)
            assert ack["ok"] is False
            assert ack["error"]["code"] == "invalid_payload"
    finally:
        await client.disconnect()


async def test_presence_http_validation(server: ServerProcess) -> None:
    user = await register(server.url)
    async with httpx.AsyncClient(base_url=server.url, headers=user.bearer) as http:
        assert (await http.get("/api/presence", params={"user_ids": "1,x"})).status_code == 422
        assert (await http.get("/api/presence", params={"user_ids": ""})).json() == {"online": {}}
    async with httpx.AsyncClient(base_url=server.url) as anon:
        assert (await anon.get("/api/presence", params={"user_ids": "1"})).status_code == 401


@contextlib.asynccontextmanager
async def _in_process_server(tmp_path: Path) -> AsyncIterator[tuple[str, object]]:
    """A real uvicorn on a free port running an app built here, with one extra route."""
    settings = load_settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        jwt_secret="test-secret-" + "x" * 32,
    )
    app = create_app(settings)

    @app.http.post("/api/poke/{user_id}")
    async def poke(user_id: int, ctx: Ctx, caller: CurrentUserId) -> dict[str, bool]:
        await ctx.realtime.to_user(user_id, "poke", {"from": caller})
        return {"ok": True}

    with pytest.raises(RealtimeNotStartedError, match="not running"):
        await app.ctx.realtime.to_user(1, "poke", {})

    async with serving(app) as url:
        yield url, app


async def test_emit_facade_from_an_http_route_reaches_the_users_sockets(tmp_path: Path) -> None:
    async with _in_process_server(tmp_path) as (url, app):
        alice = await register(url)
        bob = await register(url)
        bob_tab, bob_rec = await connect(
            url, bob, namespaces=("/notifications",), events={"/notifications": ["poke"]}
        )
        alice_tab, alice_rec = await connect(
            url, alice, namespaces=("/notifications",), events={"/notifications": ["poke"]}
        )
        try:
            async with httpx.AsyncClient(base_url=url, headers=alice.bearer) as http:
                assert (await http.post(f"/api/poke/{bob.id}")).json() == {"ok": True}
            got = await bob_rec.wait_for("/notifications", "poke")
            assert got == [{"from": alice.id}]
            await asyncio.sleep(0.2)
            assert alice_rec.of("/notifications", "poke") == []
        finally:
            await bob_tab.disconnect()
            await alice_tab.disconnect()
    # After shutdown the facade refuses again instead of dropping events.
    with pytest.raises(RealtimeNotStartedError):
        await app.ctx.realtime.to_user(bob.id, "poke", {})  # type: ignore[attr-defined]


async def test_a_socket_is_online_when_its_connect_is_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Presence is written before the CONNECT answer leaves, however slow the store.

    A store that takes 300 ms to add (Redis far away, or busy) stands in for the
    round trip: a client told it is connected must already count as online.
    """
    async with _in_process_server(tmp_path) as (url, app):
        presence = app.ctx.realtime.presence  # type: ignore[attr-defined]
        add = presence.add

        async def slow_add(user_id: int, sid: str) -> bool:
            await asyncio.sleep(0.3)
            result: bool = await add(user_id, sid)
            return result

        monkeypatch.setattr(presence, "add", slow_add)
        user = await register(url)
        tab, _ = await connect(url, user, namespaces=("/chat",))
        try:
            assert await presence.is_online(user.id)
        finally:
            await tab.disconnect()


async def test_two_apps_in_one_process_do_not_share_state(tmp_path: Path) -> None:
    async with (
        _in_process_server(tmp_path / "a") as (url_a, app_a),
        _in_process_server(tmp_path / "b") as (url_b, app_b),
    ):
        user_a = await register(url_a)
        tab, _ = await connect(url_a, user_a, namespaces=("/chat",))
        try:
            assert await app_a.ctx.realtime.presence.is_online(user_a.id)  # type: ignore[attr-defined]
            assert not await app_b.ctx.realtime.presence.is_online(user_a.id)  # type: ignore[attr-defined]
            assert app_a.rt.io is not app_b.rt.io  # type: ignore[attr-defined]
        finally:
            await tab.disconnect()
        assert url_a != url_b
