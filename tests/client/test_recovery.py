"""Connection state recovery in the Python client: offsets, pids, forced transport drops.

The drop tests need the server half of recovery (a `pid` in the CONNECT
answer); they check for it at runtime and skip, saying why, until it lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from switchboard.client import Message, SwitchboardClient
from switchboard.client._recovery import RecoveringAsyncClient
from tests.client.conftest import ClientFactory, Inbox, eventually, send_notification
from tests.support.clients import Account
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]

NO_PID = (
    "the server does not send a pid in its CONNECT answer yet: "
    "connection state recovery is not implemented on the server"
)


def _message(n: int) -> dict[str, Any]:
    return {
        "id": f"m{n}",
        "conversation_id": 1,
        "sender_id": 2,
        "body": f"body {n}",
        "created_at": "2026-01-01T00:00:00+00:00",
        "client_msg_id": None,
    }


async def test_offset_is_stripped_and_remembered_only_with_a_pid() -> None:
    """Through python-socketio's own packet path, without a network."""
    client = RecoveringAsyncClient(reconnection=False, handle_sigint=False)
    received: list[tuple[Any, ...]] = []

    async def handler(*args: Any) -> None:
        received.append(args)

    client.on("message:new", handler, namespace="/chat")
    client.connection_namespaces = ["/chat"]
    client._connect_event = asyncio.Event()

    # No pid: a trailing string is left alone (the server has recovery off).
    await client._handle_connect("/chat", {"sid": "s1"})
    await client._handle_event("/chat", None, ["message:new", _message(1), "not-an-offset"])
    assert received[-1] == (_message(1), "not-an-offset")
    assert client.offsets == {}
    assert client.connect_payload("/chat", {"token": "t"}) == {"token": "t"}

    # With a pid: the offset is stripped and becomes the reconnect's offset.
    client.namespaces.clear()
    await client._handle_connect("/chat", {"sid": "s2", "pid": "p1"})
    await client._handle_event("/chat", None, ["message:new", _message(2), "offset-2"])
    await client._handle_event("/chat", None, ["message:new", _message(3)])  # a direct emit
    assert received[-2:] == [(_message(2),), (_message(3),)]
    assert client.offsets == {"/chat": "offset-2"}
    assert client.connect_payload("/chat", {"token": "t"}) == {
        "pid": "p1",
        "offset": "offset-2",
        "token": "t",
    }

    # The same pid again: recovered. A new pid: a new session, the old offset is dropped.
    client.namespaces.clear()
    await client._handle_connect("/chat", {"sid": "s2", "pid": "p1"})
    assert client.recovered_namespaces == {"/chat"}
    client.namespaces.clear()
    await client._handle_connect("/chat", {"sid": "s3", "pid": "p2"})
    assert client.recovered_namespaces == set()
    assert client.connect_payload("/chat", {"token": "t"}) == {"pid": "p2", "token": "t"}


async def _drop(client: SwitchboardClient, states: Inbox) -> None:
    """Kill the Engine.IO transport under the client, as a network failure would."""
    seen = len(states.items)
    # A long first retry delay: the other side gets time to send while this one is away.
    client.sio.reconnection_delay = 1.5
    await client.sio.eio.ws.close()
    await _until(lambda: "reconnecting" in states.items[seen:])


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async def _wait() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(_wait(), timeout)


async def _chat_pair(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> tuple[SwitchboardClient, SwitchboardClient, int, Inbox, Inbox]:
    alice_acct, bob_acct = await users(), await users()
    states, inbox = Inbox(), Inbox()
    alice = await sdk(server, alice_acct, connect=False, on_connection_state=states)
    alice.on("message:new", inbox)
    await alice.connect()
    if "/chat" not in alice.sio.pids:
        pytest.skip(NO_PID)
    bob = await sdk(server, bob_acct)
    conv = await bob.create_conversation([alice_acct.id])
    return alice, bob, conv.id, states, inbox


async def test_recovery_after_forced_drops_misses_nothing(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, bob, cid, states, inbox = await _chat_pair(server, users, sdk)
    sid = alice.sid("/chat")
    sent: list[Message] = [await bob.send_message(cid, "before")]
    await inbox.wait(1)

    for round_ in range(2):  # several recoveries in a row
        await _drop(alice, states)
        assert not alice.is_connected
        for i in range(3):
            sent.append(await bob.send_message(cid, f"while away {round_}.{i}"))
        await _until(lambda: states.items[-1] in {"recovered", "connected"})
        assert states.items[-1] == "recovered"
        assert alice.recovered
        assert alice.is_connected
        assert alice.sid("/chat") == sid  # the same socket, its rooms kept
        await inbox.wait(len(sent))

    sent.append(await bob.send_message(cid, "after"))
    await inbox.wait(len(sent))
    assert [m.id for m in inbox.items] == [m.id for m in sent]  # in order, exactly once
    assert all(isinstance(m, Message) for m in inbox.items)


async def test_recovery_before_any_event_was_received(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, bob, cid, states, inbox = await _chat_pair(server, users, sdk)
    assert "/chat" not in alice.sio.offsets
    await _drop(alice, states)
    missed = await bob.send_message(cid, "sent while away")
    await _until(lambda: states.items[-1] in {"recovered", "connected"})
    assert states.items[-1] == "recovered"
    assert [m.id for m in await inbox.wait(1)] == [missed.id]


async def test_recovery_of_the_notifications_namespace(
    server: ServerProcess, user: Account, sdk: ClientFactory
) -> None:
    states, live = Inbox(), Inbox()
    sb = await sdk(server, user, connect=False, on_connection_state=states)
    sb.on("notification", live)
    await sb.connect()
    if "/notifications" not in sb.sio.pids:
        pytest.skip(NO_PID)
    await _drop(sb, states)
    ids = await send_notification(server, [user.id], "while away")
    ids += await send_notification(server, [user.id], "while away, again")
    await _until(lambda: states.items[-1] in {"recovered", "connected"})
    assert states.items[-1] == "recovered"
    await live.wait(2)
    assert [n.id for n in live.items] == ids


async def test_reconnects_by_itself_after_a_forced_drop(
    server: ServerProcess, user: Account, sdk: ClientFactory
) -> None:
    """With or without recovery on the server, a dropped client comes back and works."""
    states = Inbox()
    sb = await sdk(server, user, on_connection_state=states)
    await _drop(sb, states)
    await _until(lambda: states.items[-1] in {"recovered", "connected"})
    assert states.items[:2] == ["connected", "reconnecting"]
    assert sb.is_connected
    assert sb.recovered == ("/chat" in sb.sio.pids)
    await eventually(lambda: sb.query_presence([user.id]), {user.id: True})  # usable again
