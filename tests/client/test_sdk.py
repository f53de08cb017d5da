"""The Python SDK against a real server: connection, every helper, errors, logout, refresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from switchboard.client import (
    Conversation,
    Message,
    NotConnectedError,
    Notification,
    PresenceEvent,
    ReadReceipt,
    SwitchboardAckError,
    SwitchboardClient,
    SwitchboardClientError,
    SwitchboardHTTPError,
    TypingEvent,
    UnreadCount,
    User,
)
from tests.client.conftest import ClientFactory, Inbox, eventually, send_notification
from tests.support.clients import Account, register
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]


async def test_async_with_logs_in_and_connects_both_namespaces(
    server: ServerProcess, user: Account
) -> None:
    states = Inbox()
    async with SwitchboardClient(
        server.url, email=user.email, password=user.password, on_connection_state=states
    ) as sb:
        assert sb.is_connected
        assert sb.user is not None
        assert sb.user.id == user.id
        assert sb.sid("/chat")
        assert sb.sid("/notifications")
        assert sb.sid("/chat") != sb.sid("/notifications")
        assert not sb.recovered
    assert not sb.is_connected
    assert states.items == ["connected", "disconnected"]


async def test_polling_transport_works_too(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice_acct, bob_acct = await users(), await users()
    alice = await sdk(server, alice_acct, transports=("polling",))
    bob = await sdk(server, bob_acct, transports=("polling", "websocket"))
    inbox = Inbox()
    bob.on("message:new", inbox)
    conv = await alice.create_conversation([bob_acct.id])
    sent = await alice.send_message(conv.id, "over long-polling")
    assert (await inbox.wait())[0] == sent
    # polling only stays on polling; polling first is upgraded to WebSocket
    assert alice.connection.transport is not None
    assert alice.connection.transport.name == "polling"
    assert bob.connection.transport is not None
    assert bob.connection.transport.name == "websocket"


async def test_a_handler_may_await_a_helper(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    """Handlers run beside the reader: one awaiting an ack does not block the wire."""
    alice, bob, conv = await _pair(server, users, sdk)
    acked = Inbox()

    @bob.on("message:new")
    async def read_it(message: Message) -> None:
        await bob.mark_read(conv.id, message.id)
        acked(message.id)

    first = await alice.send_message(conv.id, "one")
    second = await alice.send_message(conv.id, "two")
    assert await acked.wait(2) == [first.id, second.id]  # in order, each acked


async def test_a_refused_socket_is_a_client_error(server: ServerProcess, user: Account) -> None:
    sb = SwitchboardClient(server.url, token="not-a-jwt")
    sb.user = user_model(user)  # skips GET /api/auth/me: the socket handshake judges the token
    with pytest.raises(SwitchboardClientError, match=r"could not connect: /(chat|notifications): "):
        await sb.connect()
    assert not sb.is_connected
    assert sb.state == "disconnected"
    await sb.close()


async def test_token_login_reads_the_user_from_me(server: ServerProcess, user: Account) -> None:
    async with SwitchboardClient(server.url, token=user.token) as sb:
        assert sb.is_connected
        assert sb.user is not None
        assert sb.user.email == user.email


async def test_bad_password_is_an_http_401(server: ServerProcess, user: Account) -> None:
    sb = SwitchboardClient(server.url, email=user.email, password="wrong-password")
    with pytest.raises(SwitchboardHTTPError) as err:
        async with sb:
            pytest.fail("a wrong password must not connect")
    assert err.value.status == 401
    assert not sb.is_connected


async def test_bad_token_cannot_connect(server: ServerProcess) -> None:
    with pytest.raises(SwitchboardHTTPError) as err:
        async with SwitchboardClient(server.url, token="not-a-jwt"):
            pytest.fail("a bad token must not connect")
    assert err.value.status == 401


def test_constructor_needs_credentials() -> None:
    with pytest.raises(ValueError, match="email and password"):
        SwitchboardClient("http://127.0.0.1:1", email="a@example.com")


@pytest.mark.parametrize("transports", [(), ("websocket", "carrier-pigeon")])
def test_constructor_refuses_unknown_transports(transports: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="transports"):
        SwitchboardClient("http://127.0.0.1:1", token="t", transports=transports)


async def test_helpers_need_a_connection(
    server: ServerProcess, user: Account, sdk: ClientFactory
) -> None:
    sb = await sdk(server, user, connect=False)
    with pytest.raises(NotConnectedError):
        await sb.query_presence([user.id])


async def test_on_refuses_events_outside_the_spec_without_namespace(
    server: ServerProcess, user: Account, sdk: ClientFactory
) -> None:
    sb = await sdk(server, user, connect=False)
    with pytest.raises(ValueError, match="namespace"):
        sb.on("no-such-event", lambda _p: None)
    sb.on("custom", lambda _p: None, namespace="/chat")  # allowed with an explicit namespace


async def _pair(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> tuple[SwitchboardClient, SwitchboardClient, Conversation]:
    alice_acct, bob_acct = await users(), await users()
    alice = await sdk(server, alice_acct)
    bob = await sdk(server, bob_acct)
    conv = await alice.create_conversation([bob_acct.id], title="pair")
    return alice, bob, conv


async def test_conversation_send_history_and_live_message(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, bob, conv = await _pair(server, users, sdk)
    assert alice.user
    assert bob.user
    assert conv.title == "pair"
    assert set(conv.member_ids) == {alice.user.id, bob.user.id}

    bob_inbox, alice_inbox = Inbox(), Inbox()
    bob.on("message:new", bob_inbox)
    alice.on("message:new", alice_inbox)
    sent = await alice.send_message(conv.id, "hello bob")
    assert isinstance(sent, Message)
    assert (sent.conversation_id, sent.sender_id, sent.body) == (
        conv.id,
        alice.user.id,
        "hello bob",
    )

    # bob joined the new conversation's room at once; the sender gets it too
    assert (await bob_inbox.wait())[0] == sent
    assert (await alice_inbox.wait())[0] == sent

    second = await bob.send_message(conv.id, "hi alice")
    history = await alice.history(conv.id)
    assert [m.id for m in history] == [sent.id, second.id]
    assert [m.id for m in await alice.history(conv.id, before=second.id, limit=10)] == [sent.id]
    assert [m.id for m in await alice.history(conv.id, limit=1)] == [second.id]

    listed = {c.id: c for c in await bob.list_conversations()}
    assert conv.id in listed
    last = listed[conv.id].last_message
    assert last is not None
    assert last.id == second.id


async def test_send_message_retry_with_same_client_msg_id_stores_one(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, bob, conv = await _pair(server, users, sdk)
    inbox = Inbox()
    bob.on("message:new", inbox)
    first = await alice.send_message(conv.id, "once", client_msg_id="retry-1")
    again = await alice.send_message(conv.id, "once", client_msg_id="retry-1")
    assert again.id == first.id
    assert first.client_msg_id == "retry-1"
    marker = await alice.send_message(conv.id, "after")
    await inbox.wait(2)
    assert [m.id for m in inbox.items] == [first.id, marker.id]
    assert [m.id for m in await alice.history(conv.id)] == [first.id, marker.id]


async def test_send_message_error_acks_are_typed(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, _bob, conv = await _pair(server, users, sdk)
    outsider = await sdk(server, await users())
    with pytest.raises(SwitchboardAckError) as err:
        await outsider.send_message(conv.id, "let me in")
    assert err.value.code in {"forbidden", "not_found"}
    with pytest.raises(SwitchboardAckError) as err:
        await alice.send_message(conv.id, "x" * 4001)
    assert err.value.code == "too_large"
    with pytest.raises(SwitchboardAckError) as err:
        await alice.call("/chat", "message:send", {"conversation_id": "nope", "body": 5})
    assert err.value.code == "invalid_payload"
    with pytest.raises(SwitchboardHTTPError) as http_err:
        await outsider.history(conv.id)
    assert http_err.value.status == 403


async def test_typing_and_read_receipts_reach_the_other_member(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, bob, conv = await _pair(server, users, sdk)
    assert alice.user
    typing, receipts = Inbox(), Inbox()
    bob.on("typing", typing)
    bob.on("message:read", receipts)

    await alice.typing(conv.id)
    await alice.typing(conv.id, False)
    await typing.wait(2)
    assert typing.items == [
        TypingEvent(conversation_id=conv.id, user_id=alice.user.id, typing=True),
        TypingEvent(conversation_id=conv.id, user_id=alice.user.id, typing=False),
    ]

    message = await bob.send_message(conv.id, "read me")
    await alice.mark_read(conv.id, message.id)
    assert (await receipts.wait())[0] == ReadReceipt(
        conversation_id=conv.id, user_id=alice.user.id, message_id=message.id
    )


async def test_join_conversation_members_only(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice, _bob, conv = await _pair(server, users, sdk)
    await alice.join_conversation(conv.id)
    outsider = await sdk(server, await users())
    with pytest.raises(SwitchboardAckError) as err:
        await outsider.join_conversation(conv.id)
    assert err.value.code in {"forbidden", "not_found"}


async def test_presence_query_and_presence_events(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice_acct, bob_acct = await users(), await users()
    alice = await sdk(server, alice_acct)
    conv = await alice.create_conversation([bob_acct.id])
    presence = Inbox()
    alice.on("presence", presence)

    # presence is recorded just after the CONNECT answer: poll rather than race it
    await eventually(
        lambda: alice.query_presence([alice_acct.id, bob_acct.id]),
        {alice_acct.id: True, bob_acct.id: False},
    )
    bob = await sdk(server, bob_acct)
    assert (await presence.wait())[-1] == PresenceEvent(user_id=bob_acct.id, online=True)
    assert await alice.query_presence([bob_acct.id]) == {bob_acct.id: True}
    assert await alice.online([bob_acct.id]) == {bob_acct.id: True}
    await bob.disconnect()
    await presence.wait(2)
    assert presence.items[-1] == PresenceEvent(user_id=bob_acct.id, online=False)
    assert conv.id in [c.id for c in await bob.list_conversations()]  # HTTP still works
    with pytest.raises(SwitchboardAckError) as err:
        await alice.call("/chat", "presence:query", {"user_ids": "everyone"})
    assert err.value.code == "invalid_payload"


async def test_notifications_live_list_read_and_read_all(
    server: ServerProcess, user: Account, sdk: ClientFactory
) -> None:
    counts, live = Inbox(), Inbox()
    sb = await sdk(server, user, connect=False)
    sb.on("notification:unread_count", counts)
    sb.on("notification", live)
    await sb.connect()
    assert (await counts.wait())[0] == UnreadCount(count=0)

    ids = await send_notification(server, [user.id], "first", body="b1", data={"k": 1})
    await send_notification(server, [user.id], "second")
    await live.wait(2)
    first = live.items[0]
    assert isinstance(first, Notification)
    assert (first.id, first.title, first.body, first.data, first.read_at) == (
        ids[0],
        "first",
        "b1",
        {"k": 1},
        None,
    )

    page = await sb.list_notifications()
    assert [n.title for n in page.notifications] == ["second", "first"]
    assert page.unread_count == 2
    assert await sb.mark_notification_read(first.id) == 1
    unread = await sb.list_notifications(unread_only=True)
    assert [n.title for n in unread.notifications] == ["second"]
    with pytest.raises(SwitchboardAckError) as err:
        await sb.mark_notification_read("00000000-no-such-notification")
    assert err.value.code in {"not_found", "invalid_payload"}
    assert await sb.read_all() == 0
    assert (await sb.list_notifications()).unread_count == 0


async def test_read_notification_over_http_is_private(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    owner_acct, other_acct = await users(), await users()
    owner = await sdk(server, owner_acct)
    other = await sdk(server, other_acct)
    [nid] = await send_notification(server, [owner_acct.id], "mine")
    with pytest.raises(SwitchboardHTTPError) as err:
        await other.read_notification(nid)
    assert err.value.status == 404
    notification, unread = await owner.read_notification(nid)
    assert notification.read_at is not None
    assert unread == 0


async def test_logout_disconnects_both_sockets_and_clears_the_cookie(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    acct, watcher_acct = await users(), await users()
    watcher = await sdk(server, watcher_acct)
    states = Inbox()
    sb = await sdk(server, acct, on_connection_state=states)
    assert sb.http.cookies.get("auth_token")  # the login cookie
    await eventually(lambda: watcher.query_presence([acct.id]), {acct.id: True})

    await sb.logout()
    assert not sb.is_connected
    assert sb.sid("/chat") is None
    assert sb.sid("/notifications") is None
    assert sb.token is None
    assert sb.user is None
    assert sb.http.cookies.get("auth_token") is None
    assert states.items == ["connected", "disconnected"]
    # the server saw both sockets leave: the user goes offline everywhere
    # (the server handles the disconnect after the client has closed)
    await eventually(lambda: watcher.query_presence([acct.id]), {acct.id: False})
    with pytest.raises(SwitchboardClientError):
        await sb.me()

    await sb.connect()  # logs in again with the stored password
    assert sb.is_connected
    assert not sb.recovered


async def test_refresh_token_keeps_the_socket_past_the_original_expiry(
    server_factory: Callable[..., ServerProcess], sdk: ClientFactory
) -> None:
    srv = server_factory(env={"SWITCHBOARD_TOKEN_TTL_SECONDS": "3", "SWITCHBOARD_RATE_LIMIT": "0"})
    acct = await register(srv.url)
    # The control logs in first, so its token cannot outlive the refreshed one.
    control_states, expired = Inbox(), Inbox()
    control = await sdk(srv, acct, connect=False, on_connection_state=control_states)
    control.on("auth:expired", expired)
    await control.connect()
    refreshed_states = Inbox()
    refreshed = await sdk(srv, acct, on_connection_state=refreshed_states)
    sids = (refreshed.sid("/chat"), refreshed.sid("/notifications"))
    old_token = refreshed.token
    first_expiry = refreshed.token_expires_at

    await asyncio.sleep(1.5)
    expires_at = await refreshed.refresh_token()
    assert refreshed.token != old_token
    assert expires_at.timestamp() > control_expiry(control)

    await asyncio.wait_for(control.wait_expired(), 10)
    await asyncio.wait_for(_until(lambda: not control.is_connected), 5)
    await control_states.wait(2)
    assert control_states.items == ["connected", "disconnected"]  # no reconnect attempt
    assert {e.code for e in await expired.wait()} == {"token_expired"}
    # The control's token (issued before) is gone; the refreshed sockets live on.
    assert refreshed.is_connected
    assert await refreshed.query_presence([acct.id]) == {acct.id: True}
    assert (refreshed.sid("/chat"), refreshed.sid("/notifications")) == sids
    assert refreshed_states.items == ["connected"]

    # A reconnect authenticates with the current token: the first one has expired
    # by now, so only the refreshed one can bring the dropped client back.
    assert first_expiry is not None
    await _until(lambda: time.time() > first_expiry.timestamp() + 0.1)
    await refreshed.refresh_token()
    transport = refreshed.connection.transport
    assert transport is not None
    await transport.close()  # as a network failure would
    await asyncio.wait_for(_until(lambda: refreshed_states.items[-1] != "connected"), 5)
    await asyncio.wait_for(
        _until(lambda: refreshed_states.items[-1] in {"connected", "recovered"}), 10
    )
    assert refreshed_states.items[1] == "reconnecting"
    assert refreshed.is_connected


def user_model(account: Account) -> User:
    return User(id=account.id, email=account.email, name="someone")


def control_expiry(client: SwitchboardClient) -> float:
    expiry = client.token_expires_at
    assert expiry is not None
    return expiry.timestamp()


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():
        await asyncio.sleep(0.02)
