"""Connection state recovery with a python-socketio client (tests/support/recovering.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.recovery.helpers import NS, RECOVERY_ENV, drop, join, notify, titles, wait_titles
from tests.support.clients import register
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def rserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with a 3 s recovery window for this module."""
    proc = ServerProcess(tmp_path_factory.mktemp("recovery"), env=RECOVERY_ENV).start()
    yield proc
    proc.stop()


@pytest.fixture
def url(rserver: ServerProcess) -> str:
    return rserver.url


async def test_connect_answer_carries_a_private_pid(url: str) -> None:
    alice, bob = await register(url), await register(url)
    a, _ = await join(url, alice)
    b, _ = await join(url, bob)
    try:
        assert a.pids[NS]
        assert a.pids[NS] != b.pids[NS]
        assert a.recovered[NS] is False
    finally:
        await a.disconnect()
        await b.disconnect()


async def test_missed_events_are_replayed_in_order_once_with_the_same_sid(url: str) -> None:
    alice = await register(url)
    client, rec = await join(url, alice)
    await notify(url, alice, "n1")
    assert await wait_titles(rec, 1) == ["n1"]
    sid = client.get_sid(NS)
    await drop(client)
    await notify(url, alice, "n2", "n3")
    again, rec2 = await join(url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
        assert again.get_sid(NS) == sid
        assert await wait_titles(rec2, 2) == ["n2", "n3"]
        await notify(url, alice, "n4")  # rooms are back: live events still arrive
        assert await wait_titles(rec2, 3) == ["n2", "n3", "n4"]
    finally:
        await again.disconnect()


async def test_a_drop_before_any_event_recovers_from_the_session_start(url: str) -> None:
    alice = await register(url)
    client, _ = await join(url, alice)
    assert NS not in client.offsets
    await drop(client)
    await notify(url, alice, "m1")
    again, rec = await join(url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
        assert await wait_titles(rec, 1) == ["m1"]
    finally:
        await again.disconnect()


async def test_a_quiet_connection_older_than_the_window_recovers(url: str) -> None:
    alice, bob = await register(url), await register(url)
    client, rec = await join(url, alice)
    await notify(url, alice, "old")
    await wait_titles(rec, 1)
    await notify(url, bob, "for-bob")  # after alice's offset; pruned before she drops
    await asyncio.sleep(4)  # > window: both entries age out of the log
    await notify(url, bob, "prunes")
    await drop(client)
    again, rec2 = await join(url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
        await notify(url, alice, "new")
        assert await wait_titles(rec2, 1) == ["new"]
    finally:
        await again.disconnect()


async def test_several_recoveries_in_a_row_with_and_without_events(url: str) -> None:
    alice = await register(url)
    client, _ = await join(url, alice)
    sid = client.get_sid(NS)
    seen: list[str] = []
    for i in range(4):
        await drop(client)
        if i % 2 == 0:
            await notify(url, alice, f"r{i}")
        client, rec = await join(url, alice, previous=client)
        assert client.recovered[NS] is True, i
        assert client.get_sid(NS) == sid
        if i % 2 == 0:
            seen += await wait_titles(rec, 1)
        else:
            await asyncio.sleep(0.3)
            assert titles(rec) == []
    await client.disconnect()
    assert seen == ["r0", "r2"]


async def test_events_emitted_during_the_restore_arrive_once_in_order(url: str) -> None:
    alice = await register(url)
    client, rec = await join(url, alice)
    await notify(url, alice, "e0")
    await wait_titles(rec, 1)
    await drop(client)
    await notify(url, alice, *(f"e{i}" for i in range(1, 6)))
    burst = asyncio.create_task(notify(url, alice, *(f"e{i}" for i in range(6, 40))))
    again, rec2 = await join(url, alice, previous=client)
    await burst
    try:
        assert again.recovered[NS] is True
        assert await wait_titles(rec2, 39) == [f"e{i}" for i in range(1, 40)]
    finally:
        await again.disconnect()


async def test_after_the_window_a_new_session_starts(url: str) -> None:
    alice = await register(url)
    client, _ = await join(url, alice)
    old_pid = client.pids[NS]
    await drop(client)
    await asyncio.sleep(4)
    again, _ = await join(url, alice, previous=client)
    try:
        assert again.recovered[NS] is False
        assert again.pids[NS] != old_pid
    finally:
        await again.disconnect()


async def test_a_forged_or_another_users_pid_gets_a_new_session(url: str) -> None:
    alice, mallory = await register(url), await register(url)
    victim, _ = await join(url, alice)
    await drop(victim)
    await notify(url, alice, "secret")
    thief, rec = await join(url, mallory, previous=victim)  # alice's pid, mallory's token
    forger = None
    try:
        assert thief.recovered[NS] is False
        assert thief.get_sid(NS) != victim.get_sid(NS)
        await asyncio.sleep(0.3)
        assert titles(rec) == []
        forger, _ = await join(url, mallory)
        forger.pids[NS] = "forged-" + "x" * 20
        await drop(forger)
        forger, _ = await join(url, mallory, previous=forger)
        assert forger.recovered[NS] is False
        # The victim's session was left alone.
        back, rec2 = await join(url, alice, previous=victim)
        assert back.recovered[NS] is True
        assert await wait_titles(rec2, 1) == ["secret"]
        await back.disconnect()
    finally:
        await thief.disconnect()
        if forger is not None:
            await forger.disconnect()


async def test_a_reconnect_is_authenticated(url: str) -> None:
    alice = await register(url)
    client, _ = await join(url, alice)
    await drop(client)
    with pytest.raises(Exception, match=r"unauthorized|One or more namespaces failed"):
        await join(url, alice, previous=client, token="not-a-jwt")
    # The failed attempt did not consume the session.
    again, _ = await join(url, alice, previous=client)
    try:
        assert again.recovered[NS] is True
    finally:
        await again.disconnect()
