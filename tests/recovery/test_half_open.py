"""Half-open connections (socket.io #4880): the network dies without a FIN.

The server still holds the old connection when the client comes back. The
reconnect must take the session over — same id, rooms, every missed
broadcast once — the stale transport must be closed without ending the
session, and the user must stay online throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from tests.recovery.helpers import NS, RECOVERY_ENV, join, notify, wait_titles
from tests.support.clients import register
from tests.support.proxy import HalfOpenProxy
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def rserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {**RECOVERY_ENV, "SWITCHBOARD_RECOVERY_SECONDS": "30"}
    proc = ServerProcess(tmp_path_factory.mktemp("half-open"), env=env).start()
    yield proc
    proc.stop()


async def is_online(url: str, token: str, user_id: int) -> bool:
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        r = await http.get("/api/presence", params={"user_ids": str(user_id)})
        r.raise_for_status()
        online: bool = r.json()["online"][str(user_id)]
        return online


async def test_reconnect_takes_over_a_session_whose_old_transport_is_still_open(
    rserver: ServerProcess,
) -> None:
    url = rserver.url
    alice = await register(url)
    async with HalfOpenProxy(rserver.port) as proxy:
        first, rec = await join(proxy.url, alice)
        await notify(url, alice, "n1")
        assert await wait_titles(rec, 1) == ["n1"]
        sid = first.get_sid(NS)

        proxy.cut()  # the client's side is gone; the server's side hears nothing
        await asyncio.sleep(0.3)
        assert await is_online(url, alice.token, alice.id)  # the server cannot know yet
        await notify(url, alice, "n2", "n3")  # written into the dead connection

        again, rec2 = await join(url, alice, previous=first)
        try:
            assert again.recovered[NS] is True
            assert again.get_sid(NS) == sid
            assert await wait_titles(rec2, 2) == ["n2", "n3"]
            # The stale transport is closed by the server at once, not at its ping timeout.
            await asyncio.wait_for(proxy.server_side_closed.wait(), 5)
            assert await is_online(url, alice.token, alice.id)
            await notify(url, alice, "n4")  # the taken-over socket is still in its rooms
            assert await wait_titles(rec2, 3) == ["n2", "n3", "n4"]
            assert await is_online(url, alice.token, alice.id)
        finally:
            await again.disconnect()
        await asyncio.sleep(0.3)
        assert not await is_online(url, alice.token, alice.id)
