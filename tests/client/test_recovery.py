"""Connection state recovery in the Python client: offsets, pids, forced transport drops.

The drop tests need the server half of recovery (a `pid` in the CONNECT
answer); they check for it at runtime and skip, saying why, until it lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from switchboard.client import Message, SwitchboardClient
from tests.client.conftest import ClientFactory, Inbox, eventually, send_notification
from tests.support.clients import Account
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]

NO_PID = (
    "the server does not send a pid in its CONNECT answer yet: "
    "connection state recovery is not implemented on the server"
)


async def _drop(client: SwitchboardClient, states: Inbox) -> None:
    """Kill the Engine.IO transport under the client, as a network failure would."""
    seen = len(states.items)
    # A long first retry delay: the other side gets time to send while this one is away.
    client.connection.reconnection_delay = 1.5
    transport = client.connection.transport
    assert transport is not None
    await transport.close()
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
    if "/chat" not in alice.connection.session.pids:
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
    assert "/chat" not in alice.connection.session.offsets
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
    if "/notifications" not in sb.connection.session.pids:
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
    assert sb.recovered == ("/chat" in sb.connection.session.pids)
    await eventually(lambda: sb.query_presence([user.id]), {user.id: True})  # usable again
