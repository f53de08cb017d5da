"""Sockets per user are capped (SWITCHBOARD_MAX_SOCKETS_PER_USER), per namespace and node."""

from __future__ import annotations

import pytest
import socketio

from tests.support.clients import connect, register


async def test_one_socket_over_the_cap_is_refused_and_a_closed_one_frees_a_place(
    server_factory,  # type: ignore[no-untyped-def]
) -> None:
    srv = server_factory(env={"SWITCHBOARD_MAX_SOCKETS_PER_USER": "3"})
    alice = await register(srv.url)
    bob = await register(srv.url)
    tabs = [(await connect(srv.url, alice, namespaces=("/chat",)))[0] for _ in range(3)]
    try:
        refused = socketio.AsyncClient(reconnection=False)
        errors: list[object] = []
        refused.on("connect_error", errors.append, namespace="/chat")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(
                srv.url,
                namespaces=["/chat"],
                auth={"token": alice.token},
                transports=["websocket"],
                wait_timeout=5,
            )
        assert errors == [{"message": "too many connections", "data": {"code": "rate_limited"}}]
        # Another user is not affected.
        other, _ = await connect(srv.url, bob, namespaces=("/chat",))
        await other.disconnect()
        await tabs.pop().disconnect()
        again, _ = await connect(srv.url, alice, namespaces=("/chat",))
        tabs.append(again)
    finally:
        for tab in tabs:
            await tab.disconnect()
