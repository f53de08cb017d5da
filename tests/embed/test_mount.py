"""`mount` options: the prefix, and leaving /healthz and /metrics to the host."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from starlette.applications import Starlette

from switchboard import ConfigError, mount
from tests.support.server import REPO, ServerProcess, free_port


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "/",
        "switchboard",
        "/switchboard/",
        "/a//b",
        "/socket.io",
        "/sb?x=1",
        "/ä",
        "/sb\n",
        "/a/..",
    ],
)
def test_a_prefix_that_is_not_a_plain_path_is_refused_before_anything_is_built(
    prefix: str,
) -> None:
    with pytest.raises(ConfigError, match="mount prefix"):
        mount(Starlette(), prefix=prefix)


def test_settings_and_a_built_app_together_are_refused(tmp_path: Path) -> None:
    from switchboard import Settings, create_app

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", env="test")
    with pytest.raises(ConfigError, match="a built switchboard app, or what to build one from"):
        mount(Starlette(), settings, switchboard=create_app(settings, web_page=False))


def _host_app(tmp_path: Path, name: str) -> ServerProcess:
    """uvicorn serving `tests.embed.hosts:<name>` on a free port (started by `with`)."""
    port = free_port()
    return ServerProcess(
        tmp_path,
        port=port,
        command=[
            *(sys.executable, "-m", "uvicorn", f"tests.embed.hosts:{name}"),
            *("--app-dir", str(REPO), "--host", "127.0.0.1", "--port", str(port)),
        ],
    )


def test_root_operations_off_leaves_the_hosts_healthz_alone(tmp_path: Path) -> None:
    server = _host_app(tmp_path, "own_health")
    with server:
        assert httpx.get(server.url + "/healthz").text == "the host's own health check"
        assert httpx.get(server.url + "/metrics").status_code == 404  # the host's
        assert httpx.get(server.url + "/rt/healthz").json()["status"] == "ok"
        assert httpx.get(server.url + "/rt/metrics").status_code == 200
        me = httpx.get(server.url + "/rt/api/auth/me")
        assert me.status_code == 401
        assert me.json()["detail"] == "missing_token"  # Switchboard's answer


async def test_a_host_session_cookie_signs_sockets_in_through_the_authenticate_hook(
    tmp_path: Path,
) -> None:
    server = _host_app(tmp_path, "sessions")
    with server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/switchboard/api/auth/me")).status_code == 401
            assert (await http.post("/login", params={"name": "Grace"})).status_code == 200
            session = http.cookies["shop_session"]
            me = (await http.get("/switchboard/api/auth/me")).json()["user"]
            assert (me["external_id"], me["name"]) == ("grace", "Grace")

            pings: asyncio.Queue[Any] = asyncio.Queue()
            client = socketio.AsyncClient(reconnection=False)
            # Broadcasts carry their recovery offset as a last argument.
            client.on(
                "ping", lambda data, *_offset: pings.put_nowait(data), namespace="/notifications"
            )
            await client.connect(
                server.url,
                namespaces=["/notifications"],
                headers={"Cookie": f"shop_session={session}"},
                transports=["websocket"],
                wait_timeout=5,
            )
            try:
                assert (await http.post("/ping")).text == "sent"
                assert await asyncio.wait_for(pings.get(), 5) == {"to": "grace"}
            finally:
                await client.disconnect()
